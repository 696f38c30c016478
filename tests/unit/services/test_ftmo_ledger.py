"""The FTMO ledger moves with the clock: rolled at every Prague midnight with the balance at midnight on
every cycle (a candidate or not), equity checked on every cycle, a breach flattens and halts, a restart
restores it, and /ftmo_status only reads. Synthetic balances on the mock broker (mechanics only)."""

from __future__ import annotations

import logging
from pathlib import Path

import attrs
import pytest

from adapters.mocks.market_data import InMemoryMarketData, synthetic_candles
from adapters.storage.ftmo_ledger import SqlFtmoLedgerStore
from composition.containers import restore_ledger
from domain.ftmo import FtmoRules, FtmoState, check
from domain.market import Timeframe
from domain.prague_time import prague_day
from domain.signals import BlockReason, Direction, Mode
from domain.trading import OrderRequest
from services.execution import refresh_ftmo
from tests.unit.services.conftest import START, System

MIDNIGHT = 1_704_236_400_000  # 2024-01-02 23:00 UTC = Prague midnight, after the fixture's clock
MIN = 60_000
HOUR = 60 * MIN


@pytest.fixture
def s() -> System:
    sys_ = System(execute=True)
    sys_.cycle.market = InMemoryMarketData(
        [
            synthetic_candles("BTC/USDT", Timeframe.M5, 3 * 288, START, seed=1, start_price=40_000),
            synthetic_candles("ETH/USDT", Timeframe.M5, 3 * 288, START, seed=2, start_price=2_000),
        ]
    )
    sys_.desk.flatten_on_floor = True  # FLATTEN_ON_FLOOR's default (composition.settings)
    return sys_


def cycle_at(s: System, at_ms: int) -> None:
    """A runtime cycle with nothing to trade (no candidate): only the clock moves the ledger."""
    s.clock.set(at_ms)
    refresh_ftmo(s.desk, s.broker, at_ms, s.notifier, flatten=True)


def test_a_close_after_midnight_before_the_first_candidate_leaves_the_floor_on_the_midnight_balance(s: System) -> None:
    cycle_at(s, MIDNIGHT - 5 * MIN)  # yesterday: balance 100,000
    cycle_at(s, MIDNIGHT + MIN)  # the first cycle of the day rolls it with the balance at midnight
    s.broker.set_balance(98_000.0)  # a -2,000 close at 00:30
    cycle_at(s, MIDNIGHT + 31 * MIN)
    s.clock.set(MIDNIGHT + 11 * HOUR)  # the first candidate at 11:00
    rep = s.ops.ftmo_status()
    assert rep.day_start_balance == 100_000.0
    assert rep.daily_floor == 95_500.0  # ours: 100,000 - 4.5%; was 93,500 when the day started at the check
    ledger = s.desk.ftmo
    assert ledger is not None
    chk = check(s.desk.rules, ledger, 98_000.0)
    assert chk.ftmo_daily_floor == 95_000.0  # FTMO's own
    assert dict(ledger.day_profits)[prague_day(MIDNIGHT + 31 * MIN)] == -2_000.0


def test_a_late_cycle_takes_the_side_of_midnight_from_the_deal_history(s: System) -> None:
    s.clock.set(MIDNIGHT - 10 * MIN)
    s.broker.set_quote("BTC/USDT", 40_000.0, 40_000.0)
    f = s.broker.place_order(OrderRequest("o1", "BTC/USDT", Direction.LONG, 1.0, 39_000.0))
    cycle_at(s, MIDNIGHT - 5 * MIN)  # yesterday's last cycle: balance 100,000, the position open
    # closed at 00:30 with a +1,000 profit, and no cycle ran until 11:00 (a restart, a stalled loop)
    s.clock.set(MIDNIGHT + 30 * MIN)
    s.broker.set_quote("BTC/USDT", 41_000.0, 41_000.0)
    s.broker.close_position(f.position_id)
    assert s.broker.account().balance == 101_000.0
    cycle_at(s, MIDNIGHT + 11 * HOUR)
    # the deal time says after midnight: the day started at 100,000 (not 101,000), the profit is today's
    assert s.desk.ftmo is not None and s.desk.ftmo.day_start_balance == 100_000.0
    assert dict(s.desk.ftmo.day_profits)[prague_day(MIDNIGHT + MIN)] == 1_000.0


def test_unknown_side_of_midnight_takes_the_stricter_floor() -> None:
    led = FtmoState.start(MIDNIGHT - 10 * MIN, 100_000.0)
    assert led.advance(MIDNIGHT + HOUR, 98_000.0).day_start_balance == 100_000.0  # a loss: counted today
    assert led.advance(MIDNIGHT + HOUR, 103_000.0).day_start_balance == 103_000.0  # a profit: yesterday's
    assert led.advance(MIDNIGHT + HOUR, 98_000.0, change_times=[MIDNIGHT - MIN]).day_start_balance == 98_000.0


def test_equity_below_the_buffered_floor_on_a_cycle_without_candidate_flattens_and_halts(s: System) -> None:
    cycle_at(s, MIDNIGHT + MIN)
    s.broker.set_quote("BTC/USDT", 40_000.0, 40_000.0)
    s.broker.place_order(OrderRequest("o1", "BTC/USDT", Direction.LONG, 2.0, 30_000.0))
    s.broker.set_quote("BTC/USDT", 37_600.0, 37_600.0)  # equity 95,200 < 95,500 (our daily floor)
    cycle_at(s, MIDNIGHT + 10 * MIN)
    assert s.broker.positions() == []  # FLATTEN_ON_FLOOR closed it
    assert s.desk.policy.is_halted(MIDNIGHT + 10 * MIN)
    alerts = [t for k, t in s.notifier.alerts if k == "guardrail_breach"]
    assert len(alerts) == 1 and "flattened 1 position" in alerts[0]
    cycle_at(s, MIDNIGHT + 12 * MIN)  # still below: the same episode, no second alert
    assert len([t for k, t in s.notifier.alerts if k == "guardrail_breach"]) == 1
    s.clock.set(MIDNIGHT + 14 * MIN)
    rep = s.cycle.run_once()
    assert rep.signals == () and {b.reason for b in rep.blocks} <= {BlockReason.HALTED, BlockReason.HYSTERESIS}


def test_without_flatten_on_floor_positions_stay_and_the_desk_halts(s: System) -> None:
    s.desk.flatten_on_floor = False
    cycle_at(s, MIDNIGHT + MIN)
    s.broker.set_quote("BTC/USDT", 40_000.0, 40_000.0)
    s.broker.place_order(OrderRequest("o1", "BTC/USDT", Direction.LONG, 2.0, 30_000.0))
    s.broker.set_quote("BTC/USDT", 37_600.0, 37_600.0)
    cycle_at(s, MIDNIGHT + 10 * MIN)
    assert len(s.broker.positions()) == 1 and s.desk.policy.is_halted(MIDNIGHT + 10 * MIN)


def test_one_step_honours_the_configured_buffers() -> None:
    rules = FtmoRules.one_step(100_000.0, daily_buffer_pct=2.0, total_buffer_pct=7.0)
    led = FtmoState.start(MIDNIGHT - HOUR, 100_000.0).advance(MIDNIGHT - MIN, 104_000.0)
    led = led.advance(MIDNIGHT + MIN, 104_000.0)
    chk = check(rules, led, 104_000.0)
    assert chk.daily_floor == 102_000.0 and chk.ftmo_daily_floor == 101_000.0
    assert chk.total_floor == 97_000.0 and chk.ftmo_total_floor == 94_000.0  # trailing the 104,000 EOD


def test_ftmo_status_changes_nothing(s: System) -> None:
    cycle_at(s, MIDNIGHT - 5 * MIN)
    before = (s.desk.ftmo, s.desk.runtime, list(s.notifier.alerts))
    s.broker.set_balance(90_000.0)  # below both floors; a read must neither latch, alert nor store
    s.clock.set(MIDNIGHT + HOUR)  # and across a midnight the read must not roll the stored ledger
    rep = s.ops.ftmo_status()
    # reported as of now: rolled (no deal says when the balance fell: the stricter day start, 100,000)
    assert rep.daily_floor == 95_500.0 and rep.total_floor == 91_000.0 and rep.equity == 90_000.0
    assert (s.desk.ftmo, s.desk.runtime, list(s.notifier.alerts)) == before


def test_a_restart_mid_day_restores_floors_trading_days_trailing_floor_and_best_day(s: System, tmp_path: Path) -> None:
    one = FtmoRules.one_step(100_000.0)
    s.desk.rules = one
    cycle_at(s, MIDNIGHT - 2 * HOUR)
    s.desk.ftmo = s.desk.ftmo.with_trade_opened(MIDNIGHT - 2 * HOUR)  # type: ignore[union-attr]
    s.broker.set_balance(105_000.0)  # +5,000 closed yesterday
    cycle_at(s, MIDNIGHT - HOUR)
    cycle_at(s, MIDNIGHT + HOUR)  # today: EOD 105,000 -> trailing floor 96,000
    s.broker.set_balance(104_000.0)  # -1,000 today
    cycle_at(s, MIDNIGHT + 3 * HOUR)
    assert s.desk.ftmo is not None
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    SqlFtmoLedgerStore(url).save("dryrun", s.desk.ftmo, MIDNIGHT + 3 * HOUR)  # as RuntimeCycle saves it
    # the restarted process: a fresh desk with the ledger restored from the database, the same broker
    restarted = System(execute=True)
    restarted.broker, restarted.cycle.broker = s.broker, s.broker
    restarted.desk.rules = one
    restarted.desk.ftmo = restore_ledger(SqlFtmoLedgerStore(url), Mode.DRYRUN, logging.getLogger("t"))
    assert restarted.desk.ftmo == s.desk.ftmo
    restarted.clock.set(MIDNIGHT + 5 * HOUR)
    a, b = s.ops, restarted.ops
    s.clock.set(MIDNIGHT + 5 * HOUR)
    ra, rb = a.ftmo_status(), b.ftmo_status()
    assert attrs.asdict(ra) == attrs.asdict(rb)
    assert rb.day_start_balance == 105_000.0 and rb.total_floor == 96_000.0 and rb.trading_days == 1
    assert rb.best_day_share == 1.25 and not rb.best_day_ok  # a 5,000 day of a 4,000 total profit


def test_ftmo_status_and_stats_show_trading_days_and_the_best_day_rule(s: System) -> None:
    from adapters.notifiers.formatting import format_ftmo, format_stats

    s.desk.rules = FtmoRules.one_step(100_000.0)
    cycle_at(s, MIDNIGHT - HOUR)
    s.broker.set_balance(103_000.0)
    cycle_at(s, MIDNIGHT - 30 * MIN)
    text = format_ftmo(s.ops.ftmo_status())
    assert "trading days 0/0" in text and "best day 100% of the profit: above the 50% rule" in text
    assert "FTMO trading days 0/0; best-day rule broken" in format_stats(s.ops.stats())
