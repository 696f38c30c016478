"""The real ccxt library against a fake Binance on 127.0.0.1 serving real candles."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.market_data.binance_ccxt import BinanceCcxtMarketData, ExchangeUnreachable, FetchSettings
from adapters.market_data.bundled import BundledCandles
from adapters.market_data.parquet_store import ParquetCandleStore
from composition.config import DEFAULT_SHARED_DATA
from domain.market import Candles, Timeframe
from ports.errors import UnknownSymbol, UnknownTimeframe
from tests.integration.market_data.fake_binance import FakeBinance

H = Timeframe.H1.ms


@pytest.fixture(scope="module")
def real() -> dict[str, Candles]:
    b = BundledCandles(DEFAULT_SHARED_DATA / "candles" / "binance")
    return {s: b.candles(s, Timeframe.H1) for s in ("BTC/USDT", "ETH/USDT")}


@pytest.fixture
def fake(real: dict[str, Candles]) -> Iterator[FakeBinance]:
    now = int(real["BTC/USDT"].ts[-1]) - 100 * H + 30 * 60_000  # mid-bar: one bar is forming
    server = FakeBinance({(s.replace("/", ""), "1h"): c for s, c in real.items()}, now_ms=now)
    with server.running():
        yield server


def _adapter(fake: FakeBinance, store: ParquetCandleStore | None, **kw: object) -> BinanceCcxtMarketData:
    settings = FetchSettings(api_url=fake.url, backoff_s=0.01, timeout_ms=400, rate_limit_ms=1, **kw)  # type: ignore[arg-type]
    return BinanceCcxtMarketData(store, settings, now_ms=lambda: fake.now_ms)


def _expected(real: Candles, since: int, now: int) -> Candles:
    return real.between(since, now - H + 1)


def test_three_pages_per_symbol_fetched_in_parallel_spot_only(
    fake: FakeBinance, real: dict[str, Candles], tmp_path: Path
) -> None:
    store = ParquetCandleStore(tmp_path)
    since = (fake.now_ms // H - 2_500) * H
    results = _adapter(fake, store).update(["BTC/USDT", "ETH/USDT"], "1h", since)
    assert [r.added for r in results] == [2_500, 2_500]
    for sym in ("BTC/USDT", "ETH/USDT"):
        got = ParquetCandleStore(tmp_path).candles(sym, Timeframe.H1)  # re-read from disk
        assert got.equals(_expected(real[sym], since, fake.now_ms))
        pages = [q for q in fake.kline_requests() if q["symbol"] == sym.replace("/", "")]
        assert len(pages) == 3
        assert [int(q["startTime"]) for q in pages] == [since, since + 1_000 * H, since + 2_000 * H]
    assert {p for p, _ in fake.requests} == {"/api/v3/exchangeInfo", "/api/v3/klines"}  # no futures calls


def test_a_429_and_a_timeout_are_retried_without_losing_or_duplicating_bars(
    fake: FakeBinance, real: dict[str, Candles], tmp_path: Path
) -> None:
    store = ParquetCandleStore(tmp_path)
    since = (fake.now_ms // H - 1_500) * H
    fake.pass_next(2)  # exchangeInfo and page 1
    fake.fail_next(429)  # page 2: rate limited
    fake.delay_next(1.5)  # page 2 again: times out (client timeout 0.4 s)
    adapter = _adapter(fake, store)
    [res] = adapter.update(["BTC/USDT"], "1h", since)
    assert adapter.retries == 2
    assert res.added == 1_500
    assert store.candles("BTC/USDT", Timeframe.H1).equals(_expected(real["BTC/USDT"], since, fake.now_ms))
    starts = [int(q["startTime"]) for q in fake.kline_requests()]
    assert starts == [since, since + 1_000 * H, since + 1_000 * H, since + 1_000 * H]


def test_incremental_update_appends_only_the_new_closed_bars(
    fake: FakeBinance, real: dict[str, Candles], tmp_path: Path
) -> None:
    store = ParquetCandleStore(tmp_path)
    since = (fake.now_ms // H - 300) * H
    adapter = _adapter(fake, store)
    [first] = adapter.update(["BTC/USDT"], "1h", since)
    assert first.added == 300
    last = first.last_ms
    assert last is not None
    fake.now_ms += 50 * H
    fake.requests.clear()
    [second] = adapter.update(["BTC/USDT"], "1h", since)
    assert second.added == 50 and second.rows == 350
    assert second.first_new_ms == last + H
    assert [int(q["startTime"]) for q in fake.kline_requests()] == [last + H]
    assert store.candles("BTC/USDT", Timeframe.H1).equals(_expected(real["BTC/USDT"], since, fake.now_ms))
    fake.requests.clear()
    [third] = adapter.update(["BTC/USDT"], "1h", since)  # nothing closed since: nothing asked, nothing added
    assert third.added == 0 and fake.kline_requests() == []


def test_outage_keeps_what_was_fetched_and_a_rerun_resumes(
    fake: FakeBinance, real: dict[str, Candles], tmp_path: Path
) -> None:
    store = ParquetCandleStore(tmp_path)
    since = (fake.now_ms // H - 2_200) * H
    fake.pass_next(2)
    fake.fail_next(503, times=3)
    adapter = _adapter(fake, store, max_retries=2, flush_every_pages=1)
    with pytest.raises(ExchangeUnreachable, match="rerun `trading-ai data fetch` to resume"):
        adapter.update(["BTC/USDT"], "1h", since)
    assert len(store.candles("BTC/USDT", Timeframe.H1)) == 1_000
    [res] = adapter.update(["BTC/USDT"], "1h", since)
    assert res.added == 1_200
    assert store.candles("BTC/USDT", Timeframe.H1).equals(_expected(real["BTC/USDT"], since, fake.now_ms))


def test_read_through_candles_and_bad_input(fake: FakeBinance, real: dict[str, Candles], tmp_path: Path) -> None:
    adapter = _adapter(fake, ParquetCandleStore(tmp_path))
    start = (fake.now_ms // H - 200) * H
    got = adapter.candles("ETH/USDT", Timeframe.H1, start, start + 24 * H)
    assert got.equals(real["ETH/USDT"].between(start, start + 24 * H))
    assert adapter.symbols() == ["BTC/USDT", "ETH/USDT"]
    with pytest.raises(UnknownSymbol, match="valid symbols: BTC/USDT, ETH/USDT"):
        adapter.candles("DOGE/USDT", Timeframe.H1, start)
    with pytest.raises(UnknownTimeframe, match="valid timeframes: 1m, 5m, 15m, 1h, 4h, 1d"):
        adapter.update(["BTC/USDT"], "7m", start)


def test_unreachable_exchange_gives_a_clear_error_after_bounded_retries(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    settings = FetchSettings(api_url=f"http://127.0.0.1:{port}/api/v3", max_retries=2, backoff_s=0.01, timeout_ms=400)
    adapter = BinanceCcxtMarketData(ParquetCandleStore(tmp_path), settings)
    with pytest.raises(ExchangeUnreachable, match="after 3 attempts"):
        adapter.update(["BTC/USDT"], "1h", 0)
    assert adapter.retries == 2
