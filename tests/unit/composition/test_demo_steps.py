"""The demo's plan: a free health port and a named dashboard for the replay, FAIL verdicts that do not
stop it, and a fresh machine without ../shared told how to fetch candles."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from composition.cli.context import Context
from composition.config import load_config
from composition.demo import DemoPorts, Step, _replayed_signals, demo_steps, free_port
from domain.errors import UserError
from domain.signals import Direction, Mode, Signal, Tier

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data" / "candles" / "binance"


def _ctx(tmp_path: Path, candles: Path) -> Context:
    cfg = load_config(env_file=None, environ={"CANDLES_DIR": str(candles), "DATA_DIR": str(tmp_path / "data")})
    return Context(config=cfg, log=logging.getLogger("test.demo"))


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_replay_serves_on_free_ports_and_verdict_steps_go_on(tmp_path: Path) -> None:
    with socket.socket() as taken:  # whatever holds 8080, the replay's /healthz takes any free port
        taken.bind(("127.0.0.1", 0))
        steps = demo_steps(_ctx(tmp_path, DATA), 2, "5m", DemoPorts(free_port(), "tok"))
    run = next(s for s in steps if s.argv[0] == "run")
    assert run.argv[run.argv.index("--health-port") + 1] == "0"
    port = int(run.argv[run.argv.index("--dashboard-port") + 1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # it was free
    assert {s.argv[0] for s in steps if s.verdict} == {"train", "evaluate"}
    assert steps[0].argv == ("data", "import")
    assert DemoPorts(port, "tok").dashboard_url == f"http://127.0.0.1:{port}/?token=tok"


def test_a_fresh_machine_is_told_to_fetch(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="trading-ai data fetch --timeframe 5m"):
        demo_steps(_ctx(tmp_path, tmp_path / "no-shared"), 2, "5m")


def test_the_demo_lists_its_replays_signals_only(tmp_path: Path) -> None:
    """The demo's replayed dry-run records under `replay`: its table shows those, never a real dry-run's
    (nor a `demo`-mode row) that happens to share the database and the period."""
    from adapters.storage.unit_of_work import SqlStorage

    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    cfg = load_config(env_file=None, environ={"DATABASE_URL": url, "DATA_DIR": str(tmp_path)})
    steps = [Step("Replayed dry-run", ("run", "--mode", "dryrun", "--replay-from", "2025-10-01"), "")]
    t0 = 1_759_276_800_000  # 2025-10-01
    ctx = Context(config=cfg, log=logging.getLogger("test.demo"))
    assert _replayed_signals(ctx, steps) == []  # migrates a first demo's database
    storage = SqlStorage.open(url)
    for sid, mode in (("r1a-BTCUSDT-1-long", Mode.REPLAY), ("BTCUSDT-2-long", Mode.DRYRUN), ("d-3", Mode.DEMO)):
        sig = Signal(sid, "BTC/USDT", Direction.LONG, Tier.HIGH, 0.7, 100, 110, 95, 2.0, t0 + 60_000, (), (), mode)
        storage.signal_log.log_signal(sig)
    storage.close()
    assert [s.signal_id for s in _replayed_signals(ctx, steps)] == ["r1a-BTCUSDT-1-long"]
