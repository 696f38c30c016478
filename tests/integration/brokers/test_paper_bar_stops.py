"""PaperBroker: stops and targets resolve on each closed bar's high/low by the outcome tracker's rule
(domain.trade_resolution), and the margin check uses the free margin `account()` reported to the sizing.

All bars and cost draws here are SYNTHETIC (hand-made numbers for the mechanics, not market data).
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs
import numpy as np
import pytest

from adapters.brokers.paper.config import PaperConfig
from adapters.brokers.paper.data import LatestClose
from adapters.brokers.paper.execution import PaperBroker
from adapters.mocks.clock import FakeClock
from domain.market import Candles, Timeframe
from domain.risk_book import TradeRecord
from domain.signals import Direction, Tier
from domain.trading import OrderRequest
from ports.errors import InsufficientMargin
from services.outcome_tracking import resolve

M5 = Timeframe.M5.ms
PAIR = "BTC/USDT"


@attrs.frozen
class Draw:
    spread_bps: float
    slippage_bps: float = 0.0
    latency_penalty_bps: float = 0.0


class ScriptedCosts:
    """A cost model (the paper broker's CostModel protocol) that returns scripted synthetic draws in order,
    repeating the last one."""

    def __init__(self, *draws: Draw) -> None:
        self._draws = list(draws)

    def sample(self, pair: str, session: object, rng: np.random.Generator, latency_ms: float) -> Draw:
        return self._draws.pop(0) if len(self._draws) > 1 else self._draws[0]


class SyntheticBars:
    """A bar feed the test appends synthetic OHLC bars to; the broker sees bars opened before `now`."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.rows: list[tuple[int, float, float, float, float]] = []

    def add(self, o: float, h: float, lo: float, c: float) -> None:
        ts = self.rows[-1][0] + M5 if self.rows else 0
        self.rows.append((ts, o, h, lo, c))

    def __call__(self, pair: str) -> Candles:
        now = self.clock.now_ms()
        rows = [r for r in self.rows if r[0] < now][-3:]  # like the runtime: the last few bars up to now
        a = np.array(rows, dtype=float).reshape(-1, 5)
        return Candles(
            pair, Timeframe.M5, a[:, 0].astype(np.int64), a[:, 1], a[:, 2], a[:, 3], a[:, 4], np.ones(len(rows))
        )


def _setup(*draws: Draw) -> tuple[PaperBroker, FakeClock, SyntheticBars]:
    clock = FakeClock(start_ms=0)
    feed = SyntheticBars(clock)
    source = LatestClose(feed)
    b = PaperBroker(PaperConfig(seed=1), source, ScriptedCosts(*(draws or (Draw(0.0),))), clock, bar_source=source.bars)
    return b, clock, feed


def _open_long(
    b: PaperBroker, clock: FakeClock, feed: SyntheticBars, sl: float = 39_000.0, tp: float = 42_000.0
) -> str:
    feed.add(40_000, 40_050, 39_950, 40_000)  # bar 0 closes at 5m: the entry price
    clock.advance(M5 - clock.now_ms())
    return b.place_order(OrderRequest("c1", PAIR, Direction.LONG, 0.1, sl, tp)).position_id


def _next_bar(clock: FakeClock, feed: SyntheticBars, o: float, h: float, lo: float, c: float) -> None:
    feed.add(o, h, lo, c)
    clock.advance(M5)  # the bar has closed


def _tracker_exit(entry_ms: int, sl: float, tp: float, feed: SyntheticBars) -> tuple[str, float]:
    rec = TradeRecord("s", PAIR, Tier.HIGH, entry_ms, 40_000.0, tp, sl, 2.0)
    o = resolve(rec, feed(PAIR), horizon_bars=48)
    assert o is not None
    return o.how, float(o.record.exit_price or 0.0)


def test_a_wick_to_the_stop_closes_the_position_at_the_stop_although_the_close_recovers() -> None:
    b, clock, feed = _setup()
    pid = _open_long(b, clock, feed)
    _next_bar(clock, feed, 40_000, 40_100, 38_990, 40_050)  # low touches the 39_000 stop, close recovers
    assert b.positions() == []
    exit_fill = b.fills()[-1]
    assert exit_fill.position_id == pid and exit_fill.requested_price == 39_000.0
    assert exit_fill.fill_price == 39_000.0  # synthetic draw: zero slippage
    assert exit_fill.at_ms == 2 * M5  # stamped at the close of the bar that hit, like the outcome tracker
    assert b.account().balance == pytest.approx(100_000.0 - 0.1 * 1_000.0)
    assert _tracker_exit(M5, 39_000.0, 42_000.0, feed) == ("sl", 39_000.0)  # the risk book agrees


def test_a_bar_that_gaps_through_the_stop_exits_at_its_open_slipped() -> None:
    b, clock, feed = _setup(Draw(0.0), Draw(0.0, slippage_bps=10.0))
    _open_long(b, clock, feed)
    _next_bar(clock, feed, 40_000, 40_100, 39_900, 40_000)  # nothing touched
    assert len(b.positions()) == 1
    _next_bar(clock, feed, 38_500, 38_700, 38_400, 38_600)  # opens below the stop
    assert b.positions() == []
    f = b.fills()[-1]
    assert f.requested_price == 38_500.0 and f.fill_price == pytest.approx(38_500.0 * (1 - 10.0 / 1e4))
    assert _tracker_exit(M5, 39_000.0, 42_000.0, feed) == ("sl", 38_500.0)


def test_a_bar_touching_stop_and_target_is_a_stop() -> None:
    b, clock, feed = _setup()
    _open_long(b, clock, feed)
    _next_bar(clock, feed, 40_000, 42_500, 38_900, 42_400)  # both touched, closes near the target
    f = b.fills()[-1]
    assert b.positions() == [] and f.requested_price == 39_000.0
    assert _tracker_exit(M5, 39_000.0, 42_000.0, feed) == ("sl", 39_000.0)


def test_a_target_wick_fills_at_the_target_and_the_entry_bar_does_not_count() -> None:
    b, clock, feed = _setup()
    feed.add(40_000, 43_000, 38_000, 40_000)  # bar 0: its range (before the entry) touches both levels
    clock.advance(M5 + 1)  # entry inside bar 1, which is still open
    b.place_order(OrderRequest("c1", PAIR, Direction.LONG, 0.1, 39_000.0, 42_000.0))
    feed.add(40_000, 43_000, 38_000, 40_000)  # bar 1 was in progress at entry: also ignored
    clock.advance(M5)
    assert len(b.positions()) == 1
    feed.add(40_000, 42_100, 39_500, 40_500)  # bar 2: wick to the target
    clock.advance(M5)
    f = b.fills()[-1]
    assert b.positions() == [] and f.requested_price == f.fill_price == 42_000.0


def test_a_moved_stop_only_applies_to_bars_after_the_change() -> None:
    b, clock, feed = _setup()
    pid = _open_long(b, clock, feed)
    _next_bar(clock, feed, 40_000, 40_100, 39_400, 40_050)  # would hit a 39_500 stop, not the 39_000 one
    b.modify_position(pid, sl=39_500.0, tp=42_000.0)
    assert len(b.positions()) == 1  # the earlier bar is not re-judged with the new stop
    _next_bar(clock, feed, 40_000, 40_100, 39_450, 40_050)
    assert b.positions() == [] and b.fills()[-1].requested_price == 39_500.0


def _draws_then(spread_bps: float) -> Iterator[Draw]:
    yield Draw(0.0)
    yield Draw(spread_bps)


def test_margin_check_uses_the_free_margin_the_sizing_read_not_one_re_marked_by_the_orders_own_draw() -> None:
    # 1:2 leverage, 100k: 4 BTC lots at 40_000 hold 80_000 margin -> 20_000 free at a zero spread.
    b, clock, feed = _setup(*_draws_then(200.0))
    feed.add(40_000, 40_000, 40_000, 40_000)
    clock.advance(M5)
    b.place_order(OrderRequest("big", PAIR, Direction.LONG, 4.0, 30_000.0))
    free_seen_by_sizing = b.account().free_margin
    assert free_seen_by_sizing == pytest.approx(20_000.0)
    # The next order draws a 200 bps spread: filled at 40_400, 0.95 lots need 19_190 <= 20_000. The old code
    # re-marked the open 4 lots at the new bid first (-1_600 equity) and rejected with free 18_400.
    fill = b.place_order(OrderRequest("next", PAIR, Direction.LONG, 0.95, 30_000.0))
    assert fill.fill_price == 40_400.0
    # ... and a volume beyond what that free margin holds is still refused.
    b2, clock2, feed2 = _setup(*_draws_then(200.0))
    feed2.add(40_000, 40_000, 40_000, 40_000)
    clock2.advance(M5)
    b2.place_order(OrderRequest("big", PAIR, Direction.LONG, 4.0, 30_000.0))
    with pytest.raises(InsufficientMargin, match=r"free 20000\.00"):
        b2.place_order(OrderRequest("next", PAIR, Direction.LONG, 1.0, 30_000.0))
