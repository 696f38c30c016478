"""The sentiment plugin's settings, read from the `sentiment` section of the config mapping the hook
receives (composition.config.SentimentConfig declares them, with their env names and secrecy)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

# Words that tie a post to a pair's base currency (lower case; matched as whole words in the title
# and text). A subreddit named after a coin ties all its posts to it.
DEFAULT_KEYWORDS: dict[str, tuple[str, ...]] = {
    "BTC": ("btc", "bitcoin", "xbt", "sats"),
    "ETH": ("eth", "ethereum", "ether", "vitalik"),
    "BNB": ("bnb", "binance coin", "bsc"),
    "SOL": ("sol", "solana"),
    "XRP": ("xrp", "ripple"),
}
SUBREDDIT_COINS: dict[str, str] = {
    "bitcoin": "BTC",
    "btc": "BTC",
    "ethereum": "ETH",
    "ethtrader": "ETH",
    "bnbchainofficial": "BNB",
    "binance": "BNB",
    "solana": "SOL",
    "ripple": "XRP",
}


@attrs.frozen
class SentimentSettings:
    pairs: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "BNB/USDT")
    subreddits: tuple[str, ...] = ("cryptocurrency", "bitcoin")
    reddit_client_id: str = attrs.field(default="", repr=False)
    reddit_client_secret: str = attrs.field(default="", repr=False)
    reddit_user_agent: str = "trading-ai:sentiment:0.1 (by u/trading-ai)"
    reddit_oauth_url: str = "https://oauth.reddit.com"
    reddit_url: str = "https://www.reddit.com"
    reddit_posts_per_poll: int = 100
    cryptopanic_token: str = attrs.field(default="", repr=False)
    cryptopanic_url: str = "https://cryptopanic.com/api/v1/posts/"
    cryptopanic_filter: str = ""
    cryptopanic_kind: str = "news"
    cryptopanic_requests_per_day: int = 100
    cryptopanic_cache_seconds: int = 300
    cryptopanic_max_pages: int = 2
    poll_seconds: int = 300
    timeout_seconds: float = 10.0
    window_minutes: int = 60
    seed: int = 42

    @property
    def window_ms(self) -> int:
        return int(self.window_minutes) * 60_000

    @property
    def bases(self) -> dict[str, str]:
        """Base currency -> pair (BTC -> BTC/USDT)."""
        return {p.split("/")[0].upper(): p for p in self.pairs}

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any]) -> SentimentSettings:
        section = dict(settings.get("sentiment") or {})
        names = {f.name for f in attrs.fields(cls)}
        kw: dict[str, Any] = {k: (tuple(v) if isinstance(v, list) else v) for k, v in section.items() if k in names}
        data = settings.get("data") or {}
        if data.get("symbols"):
            kw["pairs"] = tuple(data["symbols"])
        if "seed" in settings:
            kw["seed"] = int(settings["seed"])
        return cls(**kw)
