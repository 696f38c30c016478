"""CryptoPanic's posts API (`GET /api/v1/posts/?auth_token=&currencies=&filter=&kind=`) over httpx.

Fields used: `published_at` (the post's time), `title` (scored by VADER), `currencies[].code` (the
pairs); `votes` are not used (the score is VADER's on the title alone). A daily request budget
(`cryptopanic_requests_per_day`) and a response cache (`cryptopanic_cache_seconds`) keep a
free-tier token inside its quota; `next` pages are followed up to `cryptopanic_max_pages` and stop at
the first post older than what we have. A 429 backs off until `Retry-After`; a timeout or an error
answers no posts. The token is sent as the API requires (a query parameter) and never logged: every
URL in a log line has it replaced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from domain.sentiment import ScoredPost
from plugins.sentiment.scoring import PairMatcher, VaderScorer
from plugins.sentiment.settings import SentimentSettings

log = logging.getLogger("trading_ai.sentiment")
SOURCE = "cryptopanic"
DAY_MS = 86_400_000


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


class CryptoPanicFetcher:
    name = SOURCE

    def __init__(
        self,
        settings: SentimentSettings,
        scorer: VaderScorer,
        matcher: PairMatcher,
        client: httpx.Client | None = None,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.settings = settings
        self.scorer = scorer
        self.matcher = matcher
        self.wall_ms = wall_ms
        self.client = client or httpx.Client(timeout=settings.timeout_seconds)
        self.newest_ms = 0
        self.blocked_until_ms = 0
        self.requests = 0  # sent today (UTC day of the wall clock)
        self._day = -1
        self.cache_hits = 0
        self._cache: dict[str, tuple[int, dict[str, Any]]] = {}
        self.last_error = ""

    def _redact(self, text: str) -> str:
        tok = self.settings.cryptopanic_token
        return text.replace(tok, "***redacted***") if tok else text

    def _budget_left(self) -> int:
        day = self.wall_ms() // DAY_MS
        if day != self._day:
            self._day, self.requests = day, 0
        return self.settings.cryptopanic_requests_per_day - self.requests

    def _get(self, url: str, params: dict[str, str] | None) -> dict[str, Any] | None:
        key = url + "?" + "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
        now = self.wall_ms()
        hit = self._cache.get(key)
        if hit is not None and now - hit[0] < 1000 * self.settings.cryptopanic_cache_seconds:
            self.cache_hits += 1
            return hit[1]
        if self._budget_left() <= 0:
            self.last_error = f"daily request budget of {self.settings.cryptopanic_requests_per_day} spent"
            log.info("sentiment_budget_spent", extra={"ctx": {"source": SOURCE, "requests": self.requests}})
            return None
        self.requests += 1
        resp = self.client.get(url, params=params)
        if resp.status_code == 429:
            retry = resp.headers.get("retry-after", "60")
            self.blocked_until_ms = (
                now + 1000 * max(1, int(float(retry))) if retry.replace(".", "").isdigit() else now + 60_000
            )
            raise _RateLimited(self.blocked_until_ms)
        resp.raise_for_status()
        body: dict[str, Any] = resp.json()
        self._cache[key] = (now, body)
        return body

    def fetch(self, now_ms: int) -> list[ScoredPost]:
        s = self.settings
        if not s.cryptopanic_token or s.cryptopanic_requests_per_day <= 0 or now_ms < self.blocked_until_ms:
            return []
        params = {
            "auth_token": s.cryptopanic_token,
            "currencies": ",".join(sorted(self.matcher.bases)),
            "kind": s.cryptopanic_kind,
            "public": "true",
        }
        if s.cryptopanic_filter:
            params["filter"] = s.cryptopanic_filter
        since = max(self.newest_ms, now_ms - s.window_ms)
        out: list[ScoredPost] = []
        url: str | None = s.cryptopanic_url
        page_params: dict[str, str] | None = params
        newest = self.newest_ms
        try:
            for _ in range(s.cryptopanic_max_pages):
                if url is None:
                    break
                body = self._get(url, page_params)
                if body is None:
                    break
                older = False
                for item in body.get("results", []):
                    created = _ms(str(item["published_at"]))
                    if created <= since:
                        older = True
                        continue
                    newest = max(newest, created)
                    title = str(item.get("title", ""))
                    score = self.scorer.score(title)
                    codes = [str(c.get("code", "")) for c in item.get("currencies") or []]
                    for pair in self.matcher.from_codes(codes) or self.matcher.from_text(title):
                        out.append(
                            ScoredPost(
                                SOURCE, str(item.get("id", item.get("slug", title))), pair, created, score, title
                            )
                        )
                if older:
                    break
                url, page_params = body.get("next"), None  # `next` carries every parameter (token too)
        except _RateLimited as exc:
            self.last_error = f"429; backing off until {exc.until_ms}"
            log.warning("sentiment_source_rate_limited", extra={"ctx": {"source": SOURCE, "retry_at_ms": exc.until_ms}})
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self.last_error = self._redact(f"{type(exc).__name__}: {exc}")
            log.warning("sentiment_source_failed", extra={"ctx": {"source": SOURCE, "error": self.last_error}})
        self.newest_ms = newest
        return out


class _RateLimited(Exception):
    def __init__(self, until_ms: int) -> None:
        super().__init__(until_ms)
        self.until_ms = until_ms
