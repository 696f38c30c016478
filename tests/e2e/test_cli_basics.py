"""The CLI as a user runs it: one clear line and exit code 2 for mistakes, secrets never printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_AI_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "composition", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bad_kill_switch_exits_2_with_one_line_naming_it() -> None:
    res = run_cli("config", "show", env={"KILL_SWITCH": "maybe"})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert "KILL_SWITCH" in lines[0] and "maybe" in lines[0]
    assert "Traceback" not in res.stderr


def test_bot_token_is_never_printed() -> None:
    res = run_cli("config", "show", env={"TELEGRAM_BOT_TOKEN": "123456:SECRETSECRET"})
    assert res.returncode == 0, res.stderr
    assert "SECRETSECRET" not in res.stdout + res.stderr
    assert "bot_token" in res.stdout


def test_unknown_command_is_a_usage_error() -> None:
    res = run_cli("frobnicate")
    assert res.returncode == 2
    assert "invalid choice" in res.stderr


def test_help_lists_every_command_group() -> None:
    res = run_cli("--help")
    assert res.returncode == 0
    for group in (
        "demo",
        "data",
        "features",
        "train",
        "evaluate",
        "models",
        "backtest",
        "challenge",
        "exec-metrics",
        "run",
        "observe",
        "db",
        "export",
        "config",
    ):
        assert group in res.stdout
