"""The nightly job script and its schedules (cron line, systemd timer)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "infra" / "scripts" / "nightly_exec_metrics.sh"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_AI_", "EXEC_METRICS_", "MT5_"))}
    env.update(TRADING_AI_HOME=str(ROOT), **extra)
    return env


def test_schedules_run_at_two_utc() -> None:
    cron = [ln for ln in (ROOT / "infra" / "crontab").read_text().splitlines() if ln and not ln.startswith("#")]
    nightly = [ln for ln in cron if "nightly_exec_metrics.sh" in ln]
    assert len(nightly) == 1 and nightly[0].startswith("0 2 * * * ")
    timer = (ROOT / "infra" / "systemd" / "trading-ai-exec-metrics.timer").read_text()
    assert "OnCalendar=*-*-* 02:00:00 UTC" in timer
    service = (ROOT / "infra" / "systemd" / "trading-ai-exec-metrics.service").read_text()
    assert "nightly_exec_metrics.sh" in service and "MT5_PASSWORD" not in service


def test_script_rejects_bad_source() -> None:
    res = subprocess.run(
        [str(SCRIPT)], env=_env(EXEC_METRICS_SOURCE="bogus"), capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 2 and "EXEC_METRICS_SOURCE" in res.stderr


def test_script_auto_uses_ohlc_with_paper_broker_and_writes_metrics(tmp_path: Path) -> None:
    # A read-only login alone does not switch to broker measurement while the broker is the paper one.
    env = _env(DATA_DIR=str(tmp_path), EXEC_METRICS_READONLY_LOGIN="ro-user", BROKER="paper", COLUMNS="160")
    res = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    data = json.loads((tmp_path / "execution_metrics.json").read_text())
    assert data["source"] == "ohlc-estimate"
