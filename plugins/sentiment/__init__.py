"""The sentiment plugin (`pip install -e .[sentiment]`): Reddit (praw) and CryptoPanic posts scored
by VADER; per pair the rolling one-hour mean and its coverage, stored so a replay sees what live saw.

Entry point: `[project.entry-points."trading_ai.plugins"] sentiment = "plugins.sentiment"`. Without
praw or vaderSentiment installed, importing this module raises ImportError and the plugin host lists
the plugin as not installed. See docs/plugins.md.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Mapping
from typing import Any

from plugins.hookspecs import hookimpl
from ports.sentiment import SentimentStore

__version__ = "0.1.0"

_missing = [m for m in ("praw", "vaderSentiment") if importlib.util.find_spec(m) is None]
if _missing:
    raise ImportError(f"the sentiment plugin needs {', '.join(_missing)}: pip install -e .[sentiment]")

log = logging.getLogger("trading_ai.sentiment")


def build_feed(settings: Mapping[str, Any], store: SentimentStore | None, replay: bool) -> Any:
    """The plugin's one source: live with the configured fetchers, a replay from the store only."""
    from plugins.sentiment.feed import SentimentFeed
    from plugins.sentiment.settings import SentimentSettings

    s = SentimentSettings.from_mapping(settings)
    fetchers: list[Any] = []
    if not replay:
        from plugins.sentiment.scoring import PairMatcher, VaderScorer

        scorer, matcher = VaderScorer(), PairMatcher(s.bases)
        if s.reddit_client_id and s.subreddits:
            from plugins.sentiment.reddit import RedditFetcher

            fetchers.append(RedditFetcher(s, scorer, matcher))
        else:
            log.info("sentiment_source_off", extra={"ctx": {"source": "reddit", "reason": "no REDDIT_CLIENT_ID"}})
        if s.cryptopanic_token and s.cryptopanic_requests_per_day > 0:
            from plugins.sentiment.cryptopanic import CryptoPanicFetcher

            fetchers.append(CryptoPanicFetcher(s, scorer, matcher))
        else:
            log.info(
                "sentiment_source_off",
                extra={"ctx": {"source": "cryptopanic", "reason": "no CRYPTOPANIC_TOKEN or no request budget"}},
            )
    return SentimentFeed(store, fetchers, window_ms=s.window_ms, poll_seconds=s.poll_seconds, record=not replay)


@hookimpl
def trading_ai_sentiment_sources(settings: Mapping[str, Any], store: SentimentStore | None, replay: bool) -> list[Any]:
    feed = build_feed(settings, store, replay)
    feed.start()  # no fetchers (a replay, no credentials): nothing to poll, reads the store only
    return [feed]
