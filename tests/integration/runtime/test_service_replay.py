"""The service in-process over the REAL 5m candles with a replay clock: many cycles, signals in SQLite,
JSON log lines with the plan's fields, both alerts, the kill switch from the next cycle, restart safety."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path
from typing import Any

import attrs
import pytest

from composition.config import load_config
from composition.containers import RunOptions, parse_date_ms
from composition.logging_setup import configure_logging
from composition.runtime.launch import build_service
from composition.runtime.service import serve
from domain.signals import Mode
from services.execution import refresh_ftmo
from tests.integration.storage.migrated import migrated_sqlite_url

PLAN_FIELDS = ("pair", "tier", "conf", "entry", "tp", "sl", "rr", "lat_ms", "spread_bps", "slip_bps", "mode")


class Run:
    def __init__(self, tmp: Path, cycles: int, start: str = "2025-10-01") -> None:
        self.config = load_config(
            env_file=None,
            environ={
                "DATABASE_URL": migrated_sqlite_url(tmp / "rt.sqlite3"),
                "LOG_FORMAT": "json",
                "DATA_DIR": str(tmp),
            },
        )
        self.stream = io.StringIO()
        self.log = configure_logging(self.config, mode="dryrun", stream=self.stream)
        self.options = RunOptions(
            mode="dryrun",
            replay_from_ms=parse_date_ms(start, "start"),
            cycles=cycles,
            cost_model="fixed",
            spread_bps=2.0,
            slippage_bps=1.0,
            health=False,
            console_signals=False,
        )
        self.parts, self.extras = build_service(self.config, self.options, self.log)

    def go(self, cycles: int | None = None) -> None:
        if cycles is not None:
            self.parts.loop.max_cycles = self.parts.loop.stats.cycles + cycles
        asyncio.run(serve(self.parts, install_signals=False))

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        out = [json.loads(line) for line in self.stream.getvalue().splitlines() if line.startswith("{")]
        return [e for e in out if name is None or e["event"] == name]


@pytest.fixture(autouse=True)
def _restore_logger() -> Any:
    yield
    logging.getLogger("trading_ai").handlers.clear()


def test_many_cycles_over_real_candles_write_signals_and_json_logs(tmp_path: Path) -> None:
    run = Run(tmp_path, cycles=300)
    run.go()
    assert run.parts.loop.stats.cycles == 300 and run.parts.loop.stats.failed == 0
    signals = run.events("signal")
    stored = run.extras["repos"]["signal_log"].signals()
    assert len(signals) == len(stored) == run.parts.cycle.n.signals > 0
    for e in signals:
        assert all(f in e for f in PLAN_FIELDS), e
        # a replay on the paper broker: every signal is a paper fill with its realised slippage, under `replay`
        assert e["mode"] == "replay" and e["slip_bps"] is not None and e["spread_bps"] > 0
    assert {s.signal_id for s in stored} == {e["signal_id"] for e in signals}
    closed = run.events("trade_closed")
    assert closed and all(e["result"] in ("W", "L") for e in closed)
    book = run.extras["repos"]["risk_book"].records(mode=Mode.REPLAY)
    assert sum(1 for r in book if r.result is not None) == len(closed)
    # Ticks every 2 min and at every 5m bar close (minutes 0,2,4,5,6,8 of each 10) from 2025-10-01 00:00 UTC,
    # all on the fake clock: the 300th is at 49 x 10 min + 8 min.
    assert run.events("cycle_done")[-1]["at_ms"] - parse_date_ms("2025-10-01", "") == 49 * 600_000 + 8 * 60_000


def test_kill_switch_blocks_from_the_next_cycle_and_alerts(tmp_path: Path) -> None:
    run = Run(tmp_path, cycles=60)
    run.go()
    before = run.parts.cycle.n.signals
    assert before > 0
    op = run.extras["operator"]
    assert op.kill_switch(True) is True
    run.go(cycles=120)
    assert run.parts.cycle.n.signals == before  # nothing emitted after the switch
    kill_blocks = run.parts.cycle.n.blocks["kill_switch"]
    assert kill_blocks > 0
    alerts = [e for e in run.events("alert") if e["kind"] == "kill_switch"]
    assert len(alerts) == kill_blocks and alerts[0]["sent"] is True
    assert run.extras["notifier"].counts["kill_switch"] == kill_blocks
    # Restart-safe: a new service on the same database comes back with the switch on.
    again = Run(tmp_path, cycles=1, start="2025-10-02")
    assert again.extras["desk"].policy.kill_switch is True
    assert again.events("state_restored")[0]["kill_switch"] is True


def test_emitting_past_the_daily_limit_is_blocked_and_alerted(tmp_path: Path) -> None:
    run = Run(tmp_path, cycles=1)
    run.go()
    desk = run.extras["desk"]
    refresh_ftmo(desk, run.parts.cycle.broker, run.parts.clock.now_ms())  # starts the FTMO day
    equity = run.parts.cycle.broker.account().equity
    # Yesterday's close was higher, so today's floor sits a tenth of a cent under the equity: any trade breaches it.
    desk.ftmo = attrs.evolve(desk.ftmo, day_start_balance=equity + 4_500.0 - 0.001)
    run.go(cycles=200)
    n = run.parts.cycle.n
    assert n.blocks["daily_loss"] > 0
    alerts = [e for e in run.events("alert") if e["kind"] == "guardrail_breach"]
    assert len(alerts) == n.blocks["daily_loss"]
    assert run.extras["notifier"].counts["guardrail_breach"] == len(alerts)
    assert not [
        e
        for e in run.events("signal")
        if e["at_ms"] > run.events("alert")[0]["at_ms"] and desk.ftmo.day_start_ms <= e["at_ms"]
    ]  # nothing emitted that day afterwards


def test_replaying_the_same_period_twice_into_one_database_keeps_both_runs(tmp_path: Path) -> None:
    """A second `make demo` replays the same days into the same SQLite file: no cycle may fail on a
    signal id the first run already used, and the first run's rows stay."""
    first = Run(tmp_path, cycles=200)
    first.go()
    n_first = len(first.extras["repos"]["signal_log"].signals())
    assert n_first > 0 and first.parts.loop.stats.failed == 0
    for closer in first.parts.closers:
        closer()
    second = Run(tmp_path, cycles=200)
    second.go()
    assert second.parts.loop.stats.failed == 0
    stored = second.extras["repos"]["signal_log"].signals()
    assert len(stored) > n_first
    assert len({s.signal_id for s in stored}) == len(stored)


def test_a_replay_never_touches_the_real_services_saved_state(tmp_path: Path) -> None:
    """An operator's kill switch saved by the real service survives any replay on the same database."""
    import attrs as _attrs

    from adapters.storage.runtime_state import SqlRuntimeStateStore
    from domain import policy as pol

    first = Run(tmp_path, cycles=5)
    first.go()
    real = SqlRuntimeStateStore(first.extras["engine"])  # the real service's namespace
    runtime = _attrs.evolve(first.extras["desk"].runtime, mode="dryrun")  # as a real dry-run saves it
    saved = _attrs.evolve(runtime, policy=pol.set_kill_switch(runtime.policy, True))
    real.save(saved)
    replay = Run(tmp_path, cycles=50)  # replays keep their own state: the switch is not theirs
    assert replay.extras["desk"].policy.kill_switch is False
    replay.go()
    loaded = real.load("dryrun")
    assert loaded is not None and loaded.policy.kill_switch is True
