"""Reddit posts through praw (read-only, app credentials), newest first per subreddit.

praw/prawcore do the HTTP: the OAuth client-credentials token from `reddit_url`, listings from
`oauth_url`, Reddit's `X-Ratelimit-Remaining/-Used/-Reset` headers honoured by prawcore's rate
limiter (window_size 60 s: Reddit's 60 requests per minute), pagination through the listing's
`after`, our timeout on every request (`_TimeoutRequestor`). We stop paging at the first post older
than what we already have (or the scoring window), so a poll costs one request per subreddit when
little is new. A 429 is not retried by prawcore: we
back off until `Retry-After` / `X-Ratelimit-Reset` and answer no posts meanwhile; a timeout or any
other failure is logged and answers no posts (the source's score then rests on what is stored).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import praw
import prawcore

from domain.sentiment import ScoredPost
from plugins.sentiment.scoring import PairMatcher, VaderScorer
from plugins.sentiment.settings import SentimentSettings

log = logging.getLogger("trading_ai.sentiment")
SOURCE = "reddit"
RATE_WINDOW_S = 60  # Reddit: 60 requests per minute per OAuth client


class RedditFetcher:
    name = SOURCE

    def __init__(
        self,
        settings: SentimentSettings,
        scorer: VaderScorer,
        matcher: PairMatcher,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.settings = settings
        self.scorer = scorer
        self.matcher = matcher
        self.wall_ms = wall_ms
        self.newest_ms: dict[str, int] = {}  # per subreddit: the newest post seen
        self.blocked_until_ms = 0
        self.requests = 0
        self.last_error = ""
        self._reddit = praw.Reddit(
            client_id=settings.reddit_client_id,
            client_secret=settings.reddit_client_secret,
            user_agent=settings.reddit_user_agent,
            oauth_url=settings.reddit_oauth_url.rstrip("/"),
            reddit_url=settings.reddit_url.rstrip("/"),
            window_size=RATE_WINDOW_S,
            requestor_class=_TimeoutRequestor,
            requestor_kwargs={"timeout": float(settings.timeout_seconds)},
            check_for_updates=False,
            check_for_async=False,
        )
        self._reddit.read_only = True

    def fetch(self, now_ms: int) -> list[ScoredPost]:
        """New posts of every configured subreddit since the last fetch (at most the window back)."""
        if now_ms < self.blocked_until_ms:
            return []
        out: list[ScoredPost] = []
        for sub in self.settings.subreddits:
            try:
                out.extend(self._fetch_sub(sub, now_ms))
            except prawcore.exceptions.TooManyRequests as exc:
                self.blocked_until_ms = now_ms + 1000 * _retry_after_s(exc.response)
                self.last_error = f"429 from r/{sub}; backing off until {self.blocked_until_ms}"
                log.warning(
                    "sentiment_source_rate_limited",
                    extra={"ctx": {"source": SOURCE, "subreddit": sub, "retry_at_ms": self.blocked_until_ms}},
                )
                break
            except (prawcore.exceptions.PrawcoreException, praw.exceptions.PRAWException) as exc:
                self.last_error = f"r/{sub}: {type(exc).__name__}: {exc}"
                log.warning(
                    "sentiment_source_failed",
                    extra={"ctx": {"source": SOURCE, "subreddit": sub, "error": self.last_error}},
                )
        return out

    def _fetch_sub(self, sub: str, now_ms: int) -> list[ScoredPost]:
        since = max(self.newest_ms.get(sub, 0), now_ms - self.settings.window_ms)
        out: list[ScoredPost] = []
        newest = self.newest_ms.get(sub, 0)
        listing = self._reddit.subreddit(sub).new(limit=self.settings.reddit_posts_per_poll)
        for post in listing:
            created = int(float(post.created_utc) * 1000)
            if created <= since:
                break  # newest first: everything after this is already stored or outside the window
            newest = max(newest, created)
            text = f"{post.title}\n{getattr(post, 'selftext', '') or ''}"
            score = self.scorer.score(text)
            for pair in self.matcher.from_text(text, str(getattr(post, "subreddit", sub))):
                out.append(ScoredPost(SOURCE, str(post.id), pair, created, score, str(post.title)))
        self.newest_ms[sub] = newest
        return out


class _TimeoutRequestor(prawcore.Requestor):
    """praw 8 sends every request with prawcore's module default timeout (16 s, PRAWCORE_TIMEOUT);
    this requestor (praw's `requestor_class` hook) applies the configured one instead."""

    def request(self, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        return super().request(*args, timeout=self.timeout, **kwargs)


def _retry_after_s(response: object) -> int:
    headers = getattr(response, "headers", {}) or {}
    for key in ("retry-after", "x-ratelimit-reset"):
        try:
            return max(1, int(float(headers[key])))
        except (KeyError, TypeError, ValueError):
            continue
    return RATE_WINDOW_S
