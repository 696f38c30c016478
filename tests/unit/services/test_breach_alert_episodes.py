"""One `guardrail_breach` alert per breach episode (a new crossing of a floor), not one per daily re-latch
of the same halt; every re-latch and every blocked attempt is still logged. An episode is what the
backtest counts as `breach_episodes`: it starts when a check finds equity below a floor after one that
did not, and ends when a check finds it back above. Synthetic account balances (mechanics only)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adapters.mocks.market_data import InMemoryMarketData, synthetic_candles
from domain.market import Timeframe
from domain.signals import BlockReason
from tests.unit.services.conftest import START, System

PRAGUE_MIDNIGHT = 1_704_236_400_000  # 2024-01-02 23:00 UTC, the first daily reset after the fixture's clock
DAY = 86_400_000


@pytest.fixture
def live_system() -> System:
    """The desk on mocks, with synthetic bars for a week so that scans days later still see fresh data."""
    s = System(execute=True)
    s.cycle.market = InMemoryMarketData(
        [
            synthetic_candles("BTC/USDT", Timeframe.M5, 7 * 288, START, seed=1, start_price=40_000),
            synthetic_candles("ETH/USDT", Timeframe.M5, 7 * 288, START, seed=2, start_price=2_000),
        ]
    )
    return s


def breach_alerts(s: Any) -> list[str]:
    return [text for kind, text in s.notifier.alerts if kind == "guardrail_breach"]


def scan_at(s: Any, at_ms: int) -> Any:
    s.clock.set(at_ms)
    return s.cycle.run_once()


def test_a_halt_re_latched_day_after_day_alerts_once(live_system: Any, caplog: pytest.LogCaptureFixture) -> None:
    s = live_system
    s.scan()  # primes hysteresis
    s.ops.ftmo_status()  # the FTMO day starts at 100,000
    s.broker.set_balance(90_000.0)  # below the total floor (91,000): it stays crossed across daily resets
    caplog.set_level(logging.WARNING, logger="services.execution")
    rep = s.scan()
    assert rep.signals == () and rep.blocks[0].reason is BlockReason.HALTED
    assert len(breach_alerts(s)) == 1
    for day in range(3):  # each daily reset lifts the halt; the first check re-latches it
        rep = scan_at(s, PRAGUE_MIDNIGHT + day * DAY + 60_000)
        assert rep.signals == () and BlockReason.HALTED in {b.reason for b in rep.blocks}
        assert s.desk.policy.is_halted(s.clock.now_ms())
    assert len(breach_alerts(s)) == 1  # the same episode: no new alert
    relatched = [r for r in caplog.records if "guardrail breach, halted" in r.getMessage()]
    assert len(relatched) == 4  # the first latch and three re-latches, all logged


def test_a_new_crossing_after_recovery_alerts_again(live_system: Any) -> None:
    s = live_system
    s.scan()
    s.ops.ftmo_status()
    s.broker.set_balance(90_000.0)
    s.scan()
    assert len(breach_alerts(s)) == 1
    s.broker.set_balance(96_000.0)  # recovered above both floors: the next check ends the episode
    scan_at(s, PRAGUE_MIDNIGHT + 60_000)
    rep = scan_at(s, PRAGUE_MIDNIGHT + 180_000)
    assert len(rep.signals) == 1 and not s.desk.policy.is_halted(s.clock.now_ms())
    assert len(breach_alerts(s)) == 1
    s.broker.set_balance(85_000.0)  # a second crossing the same day: a new episode, a new alert
    rep = scan_at(s, PRAGUE_MIDNIGHT + 300_000)
    assert rep.signals == () and s.desk.policy.is_halted(s.clock.now_ms())
    assert len(breach_alerts(s)) == 2


def test_the_operators_status_check_does_not_re_alert_an_ongoing_episode(live_system: Any) -> None:
    s = live_system
    s.scan()
    s.ops.ftmo_status()
    s.broker.set_balance(90_000.0)
    s.scan()
    for _ in range(3):
        assert s.ops.ftmo_status().halted
    assert len(breach_alerts(s)) == 1


def test_kill_switch_attempts_still_alert_every_time(live_system: Any) -> None:
    s = live_system
    s.scan()
    s.ops.kill_switch(True)
    s.scan(3)
    assert [k for k, _ in s.notifier.alerts].count("kill_switch") >= 3
