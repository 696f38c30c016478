"""`trading-ai run` as a user runs it: a replay with a summary, SIGTERM exits 0 after the cycle, live refusals."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.storage.migrated import migrated_sqlite_url

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_AI_")}
    for k in ("LIVE_CONFIRM", "BROKER", "TELEGRAM_BOT_TOKEN", "KILL_SWITCH", "DATABASE_URL", "LOG_FILE"):
        env.pop(k, None)
    env.update(
        {
            "DATABASE_URL": migrated_sqlite_url(tmp / "rt.sqlite3"),
            "LOG_FILE": str(tmp / "run.jsonl"),
            "DATA_DIR": str(tmp),
            "LOG_FORMAT": "json",
        }
    )
    env.update(extra)
    return env


FIXED = ["--cost-model", "fixed", "--spread-bps", "2", "--slippage-bps", "1", "--no-health"]


def test_replay_prints_a_summary_and_writes_sqlite_and_json(tmp_path: Path) -> None:
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "composition",
            "run",
            "--mode",
            "dryrun",
            "--replay-from",
            "2025-10-01",
            "--speed",
            "max",
            "--cycles",
            "80",
            *FIXED,
        ],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert "replay run:" in res.stdout and "80 (0, 0)" in res.stdout
    events = [json.loads(x) for x in (tmp_path / "run.jsonl").read_text().splitlines()]
    assert {e["mode"] for e in events} == {"replay"}  # a replay's lines are never a dry-run's
    n_signals = sum(1 for e in events if e["event"] == "signal")
    with sqlite3.connect(tmp_path / "rt.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM signal_log").fetchone()[0] == n_signals > 0
        assert db.execute("SELECT DISTINCT mode FROM signal_log").fetchall() == [("replay",)]
    summary = next(e for e in events if e["event"] == "run_summary")
    assert summary["cycles"] == 80 and summary["signals"] == n_signals


def test_sigterm_finishes_the_cycle_and_exits_0(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "composition", "run", "--replay-from", "2025-10-01", "--speed", "1200", *FIXED],
        cwd=tmp_path,
        env=_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    log = tmp_path / "run.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count('"cycle_done"') >= 3:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    events = [json.loads(x) for x in log.read_text().splitlines()]
    names = [e["event"] for e in events]
    assert "stop_requested" in names and names.index("stop_requested") < names.index("service_stopped")
    stopped = next(e for e in events if e["event"] == "service_stopped")
    assert stopped["by_signal"] is True and stopped["cycles"] >= 3
    assert "Traceback" not in err


def test_live_refuses_without_confirmation_and_with_paper_broker(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "composition", "run", "--mode", "live", "--broker", "paper", *FIXED],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 2
    line = res.stderr.strip().splitlines()[-1]
    assert "live mode refused" in line and "LIVE_CONFIRM" in line and "not a real account" in line
    assert "Traceback" not in res.stderr
