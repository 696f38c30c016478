"""Outcome tracking on hand-made (SYNTHETIC) bars: exact exits, R, times, conservative same-bar rule."""

from __future__ import annotations

import numpy as np

from adapters.mocks.clock import FakeClock
from adapters.mocks.market_data import InMemoryMarketData
from adapters.mocks.storage import InMemoryPatterns, InMemoryRiskBook
from domain import policy as pol
from domain.market import Candles, Timeframe
from domain.risk_book import TradeRecord
from domain.signals import Mode, Tier
from services.outcome_tracking import OutcomeSettings, OutcomeTracker, apply_losses, pattern_key, resolve

T0 = 1_760_000_100_000 - 1_760_000_100_000 % 300_000  # a 5m boundary
P = 300_000


def bars(highs: list[float], lows: list[float], closes: list[float] | None = None) -> Candles:
    n = len(highs)
    closes = closes or [(h + lo) / 2 for h, lo in zip(highs, lows, strict=True)]
    ts = T0 + np.arange(n) * P
    return Candles("BTC/USDT", Timeframe.M5, ts, closes, highs, lows, closes, np.ones(n))


def rec(sid: str = "s1", entry: float = 100.0, tp: float = 104.0, sl: float = 98.0,
        at: int = T0 + 2_000) -> TradeRecord:
    return TradeRecord(sid, "BTC/USDT", Tier.HIGH, at, entry, tp, sl, 2.0, mode=Mode.DRYRUN, session="london")


def test_long_hits_tp_on_the_third_bar() -> None:
    o = resolve(rec(), bars([101, 102, 104.5, 110], [99, 99.5, 101, 100]), horizon_bars=48)
    assert o is not None and o.how == "tp"
    r = o.record
    assert (r.result, r.exit_price, r.r_realized) == ("W", 104.0, 2.0)
    assert r.exit_time_ms == T0 + 3 * P and r.time_to_tp_sl_seconds == (3 * P - 2_000) / 1000


def test_short_hits_sl_and_loses_one_r() -> None:
    o = resolve(rec(entry=100, tp=96, sl=102), bars([101, 102.5], [99, 99]), 48)
    assert o is not None and o.how == "sl" and o.record.result == "L" and o.record.r_realized == -1.0


def test_bar_touching_both_assumes_the_stop() -> None:
    o = resolve(rec(), bars([101, 105], [99, 97]), 48)
    assert o is not None and o.how == "sl" and o.record.exit_price == 98.0


def test_expiry_closes_at_the_horizon_bar_close_and_open_before() -> None:
    assert resolve(rec(), bars([101, 101], [99, 99]), horizon_bars=3) is None
    o = resolve(rec(), bars([101, 101, 101, 200], [99, 99, 99, 99], [100, 100.5, 101, 150]), horizon_bars=3)
    assert o is not None and o.how == "expiry" and o.record.exit_price == 101.0
    assert o.record.r_realized == 0.5 and o.record.result == "W" and o.record.exit_time_ms == T0 + 3 * P


def test_tracker_updates_risk_book_patterns_and_backoff() -> None:
    book, patterns = InMemoryRiskBook(), InMemoryPatterns()
    book.add(rec("win"))
    book.add(rec("loss", entry=100, tp=96, sl=102, at=T0 + 3_000))
    book.add(rec("open", entry=100, tp=130, sl=70, at=T0 + 4_000))
    market = InMemoryMarketData([bars([101, 102.5, 104.5], [99, 99, 101])])
    clock = FakeClock(T0 + 3 * P)  # all three bars closed
    outcomes = OutcomeTracker(book, patterns, market, clock, Mode.DRYRUN, OutcomeSettings()).run_once()
    assert [(o.record.signal_id, o.how) for o in outcomes] == [("win", "tp"), ("loss", "sl")]
    assert book.get("win").result == "W" and book.get("loss").result == "L"  # type: ignore[union-attr]
    assert [r.signal_id for r in book.open_records(Mode.DRYRUN)] == ["open"]
    name, h = pattern_key(book.get("win"))  # type: ignore[arg-type]
    assert name == "BTC/USDT|HIGH|london|long" and patterns.get(h).wins == 1  # type: ignore[union-attr]
    state = apply_losses(pol.PolicyConfig(backoff_losses=1), pol.PolicyState(), outcomes)
    assert state.losses == (T0 + 2 * P,) and state.in_backoff(T0 + 2 * P)
