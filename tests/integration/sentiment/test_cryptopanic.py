"""The CryptoPanic client (httpx, real) against a fake posts API on 127.0.0.1: the parameters,
`next` paging, the cache, the daily request budget, a 429, a timeout, the token kept out of logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from plugins.sentiment.cryptopanic import CryptoPanicFetcher
from plugins.sentiment.scoring import PairMatcher, VaderScorer
from plugins.sentiment.settings import SentimentSettings
from tests.integration.sentiment.fake_servers import FakeCryptoPanic

T0 = 1_759_276_800
NOW_S = T0 + 6 * 3600
TOKEN = "cp-secret-token-42"


class Wall:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def cp() -> Iterator[FakeCryptoPanic]:
    fake = FakeCryptoPanic(NOW_S, token=TOKEN)
    with fake.running():
        yield fake


def _fetcher(fake: FakeCryptoPanic, wall: Wall, **kw: Any) -> CryptoPanicFetcher:
    s = SentimentSettings(
        cryptopanic_token=TOKEN,
        cryptopanic_url=f"{fake.url}/api/v1/posts/",
        **{"timeout_seconds": 2.0, "window_minutes": 600, "cryptopanic_max_pages": 3, **kw},
    )
    return CryptoPanicFetcher(
        s, VaderScorer(), PairMatcher(s.bases), client=httpx.Client(timeout=s.timeout_seconds), wall_ms=wall
    )


def test_parameters_paging_fields_and_scores(cp: FakeCryptoPanic) -> None:
    f = _fetcher(cp, Wall(NOW_S * 1000), cryptopanic_filter="rising")
    posts = f.fetch(NOW_S * 1000)
    first = cp.requests[0][3]
    assert first == {
        "auth_token": TOKEN,
        "currencies": "BNB,BTC,ETH",
        "kind": "news",
        "public": "true",
        "filter": "rising",
    }
    assert [q.get("page") for _, _, _, q, _ in cp.requests] == [None, "2"]  # followed `next`
    window = [r for r in cp.results if r["published_at"] <= "2025-10-01T06:00:00Z"]
    assert {p.post_id for p in posts} == {str(r["id"]) for r in window}
    by_pair = {r["id"]: r["currencies"][0]["code"] for r in window}
    assert all(p.pair.startswith(by_pair[int(p.post_id)]) for p in posts)
    btc = [p.score for p in posts if p.pair == "BTC/USDT"]
    assert btc and max(btc) < 0  # VADER on the titles
    assert f.requests == 2


def test_the_cache_and_the_daily_budget(cp: FakeCryptoPanic, caplog: pytest.LogCaptureFixture) -> None:
    wall = Wall(NOW_S * 1000)
    f = _fetcher(cp, wall, cryptopanic_requests_per_day=3, cryptopanic_cache_seconds=300, cryptopanic_max_pages=1)
    assert f.fetch(wall.ms)
    wall.ms += 60_000
    assert f.fetch(wall.ms) == [] and len(cp.requests) == 1 and f.cache_hits == 1  # cached: no request
    for _ in range(3):
        wall.ms += 301_000
        f.fetch(wall.ms)
    assert len(cp.requests) == 3 and "budget" in f.last_error  # 3 a day, then none
    wall.ms += 86_400_000  # the next UTC day: a fresh budget
    f.fetch(wall.ms)
    assert len(cp.requests) == 4


def test_a_429_backs_off_and_a_timeout_answers_nothing_without_the_token(
    cp: FakeCryptoPanic, caplog: pytest.LogCaptureFixture
) -> None:
    wall = Wall(NOW_S * 1000)
    f = _fetcher(cp, wall, timeout_seconds=0.3, cryptopanic_cache_seconds=0)
    cp.fail_next(429, {"retry-after": "120"})
    assert f.fetch(wall.ms) == [] and f.blocked_until_ms == wall.ms + 120_000
    assert f.fetch(wall.ms + 60_000) == [] and len(cp.requests) == 1
    cp.delay_next(1.0)
    with caplog.at_level(logging.WARNING):
        assert f.fetch(wall.ms + 121_000) == []
    assert "ReadTimeout" in f.last_error
    cp.fail_next(500)
    f.fetch(wall.ms + 122_000)
    assert "500" in f.last_error and TOKEN not in f.last_error and "***redacted***" in f.last_error
    assert all(TOKEN not in str(getattr(r, "ctx", "")) for r in caplog.records)
    assert f.fetch(wall.ms + 123_000)  # back to normal
