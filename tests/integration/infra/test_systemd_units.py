"""The systemd units load cleanly: `systemd-analyze verify` (where systemd is installed) reports nothing,
and the start-rate limit sits in [Unit], where systemd reads it (in [Service] it is silently ignored)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
UNITS = sorted((ROOT / "infra" / "systemd").glob("*.service")) + sorted((ROOT / "infra" / "systemd").glob("*.timer"))


def _sections(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(path.read_text(encoding="utf-8"))
    return cp


def test_start_limits_are_in_the_unit_section() -> None:
    unit = _sections(ROOT / "infra" / "systemd" / "trading-ai.service")
    assert unit["Unit"]["StartLimitIntervalSec"] == "600" and unit["Unit"]["StartLimitBurst"] == "5"
    assert "StartLimitIntervalSec" not in unit["Service"] and "StartLimitBurst" not in unit["Service"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_reports_nothing(tmp_path: Path) -> None:
    # The units name /opt/trading-ai; point them at a stand-in tree whose commands exist.
    home = tmp_path / "opt"
    for rel in (".venv/bin/trading-ai", "infra/scripts/nightly_exec_metrics.sh"):
        exe = home / rel
        exe.parent.mkdir(parents=True, exist_ok=True)
        exe.write_text("#!/bin/sh\nexit 0\n")
        exe.chmod(0o755)
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text(encoding="utf-8").replace("/opt/trading-ai", str(home)))
    res = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / u.name) for u in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    assert res.returncode == 0 and lines == [], lines
