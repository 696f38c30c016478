"""One runtime per account: a second `trading-ai run` on the same database and mode exits 2 naming the
first; the lock goes with its holder, on exit and on a crash (SIGKILL). SQLite and PostgreSQL, real
processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.storage import migrate
from composition.runtime.instance_lock import InstanceLock, InstanceLocked
from tests.integration.storage.pg import fresh_schema

ROOT = Path(__file__).resolve().parents[3]
ARGS = [
    "run",
    "--replay-from",
    "2025-10-01",
    "--speed",
    "30",
    "--cost-model",
    "fixed",
    "--spread-bps",
    "2",
    "--slippage-bps",
    "1",
    "--no-health",
    "--quiet-signals",
]


def _env(tmp: Path, url: str, log: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_AI_")}
    for k in ("LIVE_CONFIRM", "BROKER", "TELEGRAM_BOT_TOKEN", "KILL_SWITCH"):
        env.pop(k, None)
    env.update({"DATABASE_URL": url, "LOG_FILE": str(tmp / log), "DATA_DIR": str(tmp), "LOG_FORMAT": "json"})
    return env


def _wait_for(path: Path, event: str, proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                if f'"{event}"' in line:
                    got: dict[str, object] = json.loads(line)
                    return got
        if proc.poll() is not None:
            raise AssertionError(f"first runtime exited {proc.returncode}: {proc.stderr.read()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.1)
    raise AssertionError(f"no {event} within {timeout}s")


def _second_is_refused_then_lock_follows_the_crash(tmp: Path, url: str) -> None:
    first = subprocess.Popen(
        [sys.executable, "-m", "composition", *ARGS],
        cwd=tmp,
        env=_env(tmp, url, "a.jsonl"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(tmp / "a.jsonl", "cycle_done", first)
        second = subprocess.run(
            [sys.executable, "-m", "composition", *ARGS],
            cwd=tmp,
            env=_env(tmp, url, "b.jsonl"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2, second.stderr[-2000:]
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "another trading-ai run holds replay" in lines[0] and f"pid={first.pid}" in lines[0].replace(
            "pid ", "pid="
        ), lines[0]
        assert "Traceback" not in second.stderr
        # the refused runtime wrote nothing: no cycle in its log
        b_log = (tmp / "b.jsonl").read_text() if (tmp / "b.jsonl").exists() else ""
        assert '"cycle_done"' not in b_log
        assert first.poll() is None  # the holder kept running
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    # killed mid-run: the lock went with it
    deadline = time.monotonic() + 10
    while True:
        try:
            with InstanceLock(url, "replay"):
                break
        except InstanceLocked:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_sqlite_second_run_exits_2_naming_the_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rt.sqlite3'}"
    migrate.upgrade(url)
    _second_is_refused_then_lock_follows_the_crash(tmp_path, url)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_schema("lock") as url:
        migrate.upgrade(url)
        yield url


def test_postgresql_second_run_exits_2_naming_the_first(tmp_path: Path, pg_url: str) -> None:
    _second_is_refused_then_lock_follows_the_crash(tmp_path, pg_url)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_lock_is_per_database_and_mode_and_released_on_exit(tmp_path: Path, backend: str) -> None:
    if backend == "sqlite":
        urls = [f"sqlite:///{tmp_path / 'a.sqlite3'}", f"sqlite:///{tmp_path / 'b.sqlite3'}"]
        _check_lock_scopes(*urls)
    else:
        with fresh_schema("lock") as a, fresh_schema("lock") as b:
            _check_lock_scopes(a, b)


def _check_lock_scopes(url_a: str, url_b: str) -> None:
    with InstanceLock(url_a, "live"):
        with pytest.raises(InstanceLocked, match="another trading-ai run holds live") as err:
            InstanceLock(url_a, "live").acquire()
        assert f"pid {os.getpid()}" in str(err.value) or f"pid={os.getpid()}" in str(err.value)
        with InstanceLock(url_a, "dryrun"), InstanceLock(url_b, "live"):  # other mode, other database
            pass
    with InstanceLock(url_a, "live"):  # released on exit
        pass
