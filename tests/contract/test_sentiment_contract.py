"""SentimentSource and SentimentStore contracts, run against every adapter and its mock.

Source factories get a tmp_path and return a source whose BTC/USDT has posts before
1_704_067_200_000 (and one exactly at that instant, which must not count)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.sentiment import FixedSentiment, InMemorySentimentStore
from adapters.storage.sentiment import SqlSentimentStore
from domain.sentiment import ScoredPost, SentimentReading
from ports.sentiment import SentimentSource, SentimentStore

AT = 1_704_067_200_000
POSTS = [
    ScoredPost("reddit", "a", "BTC/USDT", AT - 3_000_000, 0.5, "up"),
    ScoredPost("cryptopanic", "b", "BTC/USDT", AT - 60_000, -0.1, "meh"),
    ScoredPost("reddit", "c", "BTC/USDT", AT, -1.0, "at the instant: not seen yet"),
    ScoredPost("reddit", "d", "BTC/USDT", AT - 3_700_000, -1.0, "older than the hour"),
]


def _sql_store(tmp_path: Path) -> SqlSentimentStore:
    from tests.integration.storage.migrated import migrated_sqlite_url

    return SqlSentimentStore(migrated_sqlite_url(tmp_path / "s.sqlite3"), lambda: AT)


def _feed(tmp_path: Path) -> SentimentSource:
    from plugins.sentiment.feed import SentimentFeed

    store = _sql_store(tmp_path)
    store.add_posts(POSTS)
    return SentimentFeed(store)


SOURCES: list[Any] = [
    pytest.param(lambda tmp_path: FixedSentiment({"BTC/USDT": 0.2}), id="mock"),
    pytest.param(_feed, id="sentiment-plugin-feed"),
]
STORES: list[Any] = [
    pytest.param(lambda tmp_path: InMemorySentimentStore(), id="mock"),
    pytest.param(_sql_store, id="sqlite"),
]


@pytest.fixture(params=SOURCES)
def src(request: pytest.FixtureRequest, tmp_path: Path) -> SentimentSource:
    factory: Callable[[Path], SentimentSource] = request.param
    return factory(tmp_path)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> SentimentStore:
    factory: Callable[[Path], SentimentStore] = request.param
    return factory(tmp_path)


def test_score_in_range_and_unknown_is_none(src: SentimentSource) -> None:
    assert isinstance(src, SentimentSource) and src.name
    s = src.score("BTC/USDT", AT)
    assert s is not None and -1.0 <= s <= 1.0
    r = src.reading("BTC/USDT", AT)
    assert r is not None and r.score == s and r.coverage >= 1 and r.pair == "BTC/USDT"
    assert src.score("NOPE/USDT", AT) is None and src.reading("NOPE/USDT", AT) is None


def test_the_feed_uses_only_the_hour_before_at(tmp_path: Path) -> None:
    feed = _feed(tmp_path)
    r = feed.reading("BTC/USDT", AT)
    assert r is not None and r.coverage == 2 and r.score == pytest.approx((0.5 - 0.1) / 2)
    later = feed.reading("BTC/USDT", AT + 1)  # the post at AT now counts
    assert later is not None and later.coverage == 3
    assert feed.reading("BTC/USDT", AT - 3_000_000) is not None  # only "d" is older than the hour there
    assert feed.reading("BTC/USDT", AT - 3_000_000).coverage == 1  # type: ignore[union-attr]


def test_mock_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        FixedSentiment({"X/Y": 2.0})


def test_store_keeps_new_posts_once_in_time_order(store: SentimentStore) -> None:
    assert store.history() is None
    assert store.add_posts(POSTS) == 4
    assert store.add_posts(POSTS[:2]) == 0  # (source, post_id, pair) already there
    got = store.posts("BTC/USDT", AT - 3_600_000, AT)
    assert [p.post_id for p in got] == ["a", "b"]
    assert got[0] == POSTS[0]
    assert store.posts("ETH/USDT", 0, AT * 2) == []
    assert store.history() == (AT - 3_700_000, AT, 4)
    assert store.history("ETH/USDT") is None


def test_store_keeps_one_reading_per_pair_instant_and_source(store: SentimentStore) -> None:
    store.record_reading("sentiment", SentimentReading("BTC/USDT", AT, 0.1, 3))
    store.record_reading("sentiment", SentimentReading("BTC/USDT", AT, 0.2, 4))  # replaces
    store.record_reading("sentiment", SentimentReading("BTC/USDT", AT + 1, None, 0))
    store.record_reading("other", SentimentReading("BTC/USDT", AT, -0.5, 1))
    assert store.readings("BTC/USDT") == [
        ("other", SentimentReading("BTC/USDT", AT, -0.5, 1)),
        ("sentiment", SentimentReading("BTC/USDT", AT, 0.2, 4)),
        ("sentiment", SentimentReading("BTC/USDT", AT + 1, None, 0)),
    ]
    assert store.readings("ETH/USDT") == []


def test_memory_store_of_the_plugin_honours_the_store_contract(tmp_path: Path) -> None:
    from plugins.sentiment.feed import MemoryStore

    s = MemoryStore()
    assert isinstance(s, SentimentStore)
    test_store_keeps_new_posts_once_in_time_order(MemoryStore())
    test_store_keeps_one_reading_per_pair_instant_and_source(MemoryStore())
