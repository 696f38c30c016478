"""The runtime has one composition root (composition.containers.RuntimeContainer): every part build_service
returns is one instance shared by everything that uses it, and the start-up steps run in their order
(live refuses before the database is opened or the broker is built)."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from dependency_injector import providers

from composition.config import load_config
from composition.containers import LiveRefused, RunOptions, RuntimeContainer, parse_date_ms
from composition.logging_setup import configure_logging
from composition.runtime.launch import build_service
from tests.integration.storage.migrated import migrated_sqlite_url


@pytest.fixture(autouse=True)
def _restore_logger() -> Any:
    yield
    logging.getLogger("trading_ai").handlers.clear()


def _config(tmp: Path, **env: str) -> Any:
    return load_config(
        env_file=None,
        environ={
            "DATABASE_URL": migrated_sqlite_url(tmp / "rt.sqlite3"),
            "LOG_FORMAT": "json",
            "DATA_DIR": str(tmp),
            "MODELS_DIR": str(tmp / "no-models"),  # the momentum baseline: no training needed
            **env,
        },
    )


def test_every_part_is_one_instance_shared_by_its_users(tmp_path: Path) -> None:
    config = _config(tmp_path)
    options = RunOptions(
        mode="dryrun",
        replay_from_ms=parse_date_ms("2025-10-01", "start"),
        cycles=3,
        cost_model="fixed",
        spread_bps=2.0,
        slippage_bps=1.0,
        health=True,
        health_port=0,
        dashboard_port=-1,
        console_signals=False,
    )
    parts, extras = build_service(config, options, configure_logging(config, mode="dryrun", stream=io.StringIO()))
    try:
        scan, desk, repos = extras["scan"], extras["desk"], extras["repos"]
        assert parts.loop.cycle is parts.cycle and parts.cycle.scan is scan
        assert parts.cycle.desk is desk is scan.desk is extras["operator"].desk
        assert parts.cycle.notifier is scan.notifier is extras["notifier"]
        assert parts.cycle.broker is scan.broker
        assert parts.cycle.state_store is repos["state"] is extras["operator"].store
        assert parts.cycle.ledger_store is repos["ledger"]
        assert scan.risk_book is repos["risk_book"] is parts.cycle.tracker.risk_book
        assert scan.clock is parts.clock is parts.cycle.clock
        assert parts.closers[1] == extras["engine"].dispose
        assert extras["start_ms"] is not None and parts.replay_window == (extras["start_ms"], extras["end_ms"])
        assert parts.health is not None and parts.health.probe().stale_after_s == parts.stale_after_s
        assert extras["reconciliation"] is not None  # a replay on the paper broker places orders
    finally:
        for closer in parts.closers:
            closer()


def test_live_refuses_before_the_database_or_the_broker_is_touched(tmp_path: Path) -> None:
    opened: list[str] = []

    def touched(name: str) -> Any:
        opened.append(name)
        raise AssertionError(f"{name} built before the live preconditions were checked")

    config = _config(tmp_path)
    options = RunOptions(mode="live", broker="shim", health=False, telegram=False, console_signals=False)
    log = configure_logging(config, mode="live", stream=io.StringIO())
    with (
        RuntimeContainer.engine.override(providers.Callable(touched, "engine")),
        RuntimeContainer.broker.override(providers.Callable(touched, "broker")),
        pytest.raises(LiveRefused, match=r"LIVE_CONFIRM is not 'yes'.*no promoted model passed its gates"),
    ):
        build_service(config, options, log)
    assert opened == []
