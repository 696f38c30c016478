"""Outcome tracking on hand-made (SYNTHETIC) bars: exact exits, R, times, conservative same-bar rule, and no
look-ahead: a signal created at T is resolved only with bars that open at or after T."""

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


def bars(
    highs: list[float],
    lows: list[float],
    closes: list[float] | None = None,
    first: int = T0,
    opens: list[float] | None = None,
) -> Candles:
    n = len(highs)
    closes = closes or [(h + lo) / 2 for h, lo in zip(highs, lows, strict=True)]
    ts = first + np.arange(n) * P
    return Candles("BTC/USDT", Timeframe.M5, ts, opens or closes, highs, lows, closes, np.ones(n))


def rec(sid: str = "s1", entry: float = 100.0, tp: float = 104.0, sl: float = 98.0, at: int = T0) -> TradeRecord:
    """Created at `at` (default: the tick at the close of the bar before T0, so bar T0 is the first after it)."""
    return TradeRecord(sid, "BTC/USDT", Tier.HIGH, at, entry, tp, sl, 2.0, mode=Mode.DRYRUN, session="london")


def test_long_hits_tp_on_the_third_bar() -> None:
    o = resolve(rec(), bars([101, 102, 104.5, 110], [99, 99.5, 101, 100]), horizon_bars=48)
    assert o is not None and o.how == "tp"
    r = o.record
    assert (r.result, r.exit_price, r.r_realized) == ("W", 104.0, 2.0)
    assert r.exit_time_ms == T0 + 3 * P and r.time_to_tp_sl_seconds == 3 * P / 1000


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
    book.add(rec("loss", entry=100, tp=96, sl=102))
    book.add(rec("open", entry=100, tp=130, sl=70))
    market = InMemoryMarketData([bars([101, 102.5, 104.5], [99, 99, 101])])
    clock = FakeClock(T0 + 3 * P)  # all three bars closed
    outcomes = OutcomeTracker(book, patterns, market, clock, Mode.DRYRUN, OutcomeSettings()).run_once()
    assert [(o.record.signal_id, o.how) for o in outcomes] == [("loss", "sl"), ("win", "tp")]  # same entry: by id
    assert book.get("win").result == "W" and book.get("loss").result == "L"  # type: ignore[union-attr]
    assert [r.signal_id for r in book.open_records(Mode.DRYRUN)] == ["open"]
    name, h = pattern_key(book.get("win"))  # type: ignore[arg-type]
    assert name == "BTC/USDT|HIGH|london|long" and patterns.get(h).wins == 1  # type: ignore[union-attr]
    state = apply_losses(pol.PolicyConfig(backoff_losses=1), pol.PolicyState(), outcomes)
    assert state.losses == (T0 + 2 * P,) and state.in_backoff(T0 + 2 * P)


# --- look-ahead: bars before the entry time (SYNTHETIC) -------------------------------------------------
# Layout: bar T0-2P (earlier), bar T0-P (the signal's own bar: it closed at T0), bar T0 (in progress at a
# tick 2 minutes after T0), bars T0+P.. (entirely after the entry). The pre-entry bars all touch TP; the
# first bar after the entry touches only the stop. Using any pre-entry bar would turn the loss into a win.
PRE = [(105.0, 99.0), (104.5, 99.5), (104.2, 99.1)]  # (high, low) of bars T0-2P, T0-P, T0
POST = [(101.0, 97.5), (110.0, 99.0)]  # bar T0+P hits the stop, bar T0+2P would hit TP


def _history() -> Candles:
    hl = PRE + POST
    return bars([h for h, _ in hl], [lo for _, lo in hl], first=T0 - 2 * P)


def test_tick_inside_a_bar_uses_only_bars_that_open_after_it() -> None:
    o = resolve(rec(at=T0 + 120_000), _history(), 48)
    assert o is not None and o.how == "sl", o
    assert o.record.exit_time_ms == T0 + 2 * P and o.record.r_realized == -1.0


def test_tick_at_a_bar_close_never_uses_the_signals_own_bar_or_earlier() -> None:
    # At T = T0 the signal's own bar (T0-P) and the one before it are history; bar T0 opens at T and counts.
    hl = PRE[:2] + POST
    o = resolve(rec(at=T0), bars([h for h, _ in hl], [lo for _, lo in hl], first=T0 - 2 * P), 48)
    assert o is not None and o.how == "sl" and o.record.exit_time_ms == T0 + P


def test_only_pre_entry_bars_means_still_open() -> None:
    assert resolve(rec(at=T0 + 120_000), bars([h for h, _ in PRE], [lo for _, lo in PRE], first=T0 - 2 * P), 48) is None


def test_horizon_counts_from_the_first_bar_after_entry() -> None:
    flat = bars([101.0] * 6, [99.0] * 6, [100.0, 100.0, 100.0, 100.5, 101.0, 100.0], first=T0 - P)
    o = resolve(rec(at=T0 + 60_000), flat, horizon_bars=3)  # bars T0+P, T0+2P, T0+3P
    assert o is not None and o.how == "expiry"
    assert o.record.exit_time_ms == T0 + 4 * P and o.record.exit_price == 101.0


def test_a_bar_that_gaps_through_the_stop_exits_at_its_open() -> None:
    # Long, stop 98: the bar opens at 96 (gap), so the stop fills at 96, not at 98.
    o = resolve(rec(), bars([97.0], [95.0], [96.5], opens=[96.0]), 48)
    assert o is not None and o.how == "sl" and o.record.exit_price == 96.0 and o.record.r_realized == -2.0
    # Short, stop 102: opens at 103.
    o = resolve(rec(entry=100, tp=96, sl=102), bars([104.0], [102.5], [103.5], opens=[103.0]), 48)
    assert o is not None and o.how == "sl" and o.record.exit_price == 103.0


def test_a_bar_that_gaps_through_the_target_exits_at_the_target() -> None:
    o = resolve(rec(), bars([108.0], [105.0], [107.0], opens=[106.0]), 48)
    assert o is not None and o.how == "tp" and o.record.exit_price == 104.0


def test_tracker_feeds_only_post_entry_bars_from_the_market() -> None:
    book, patterns = InMemoryRiskBook(), InMemoryPatterns()
    book.add(rec("mid-bar", at=T0 + 120_000))
    market = InMemoryMarketData([_history()])
    outcomes = OutcomeTracker(book, patterns, market, FakeClock(T0 + P), Mode.DRYRUN).run_once()
    assert outcomes == []  # bar T0 closed at T0+P but opened before the entry
    outcomes = OutcomeTracker(book, patterns, market, FakeClock(T0 + 2 * P), Mode.DRYRUN).run_once()
    assert [(o.record.signal_id, o.how) for o in outcomes] == [("mid-bar", "sl")]
