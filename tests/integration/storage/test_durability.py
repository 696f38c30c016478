"""Durability on real databases: SIGKILL mid-cycle loses no emitted signal; concurrent SQLite writers lose no row."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from adapters.storage.engine import create_engine_for, sqlite_path
from adapters.storage.unit_of_work import SqlStorage

ROOT = Path(__file__).resolve().parents[3]


def _writer(url: str, prefix: str, count: int, pattern_hash: str = "") -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "tests.integration.storage.writer", url, prefix, str(count)]
    return subprocess.Popen(
        [*args, *([pattern_hash] if pattern_hash else [])],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ids(url: str, table: str, prefix: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(f"SELECT signal_id FROM {table} WHERE signal_id LIKE :p"), {"p": f"{prefix}-%"})
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def test_sigkill_mid_cycle_loses_no_emitted_signal(db_url: str) -> None:
    proc = _writer(db_url, "kill", 100_000)
    assert proc.stdout is not None
    printed: list[str] = []
    for line in proc.stdout:
        printed.append(line.strip())
        if len(printed) == 40:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read() if proc.stderr else ""
    # Anything still buffered in the pipe was printed after a commit too.
    printed += [ln.strip() for ln in proc.stdout.read().splitlines() if ln.strip()]
    assert len(printed) >= 40

    in_log, in_book = _ids(db_url, "signal_log", "kill"), _ids(db_url, "risk_book", "kill")
    assert set(printed) <= in_log, f"lost signals: {sorted(set(printed) - in_log)[:5]}"
    assert in_log == in_book, "a signal and its risk-book row must be written together"
    assert len(in_log) - len(printed) <= 1, "at most the cycle being killed committed without printing"
    storage = SqlStorage.open(db_url)
    statuses = {storage.signal_log.status(sid) for sid in printed}
    assert statuses <= {"pending", "sent"}
    assert {s.signal_id for s in storage.signal_log.pending()} <= in_log
    storage.close()
    path = sqlite_path(db_url)
    if path is not None:
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_two_processes_writing_one_sqlite_file_lose_nothing(tmp_path: Path) -> None:
    from adapters.storage import migrate

    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    migrate.upgrade(url)
    n = 150
    procs = [_writer(url, "a", n, "shared-hash"), _writer(url, "b", n, "shared-hash")]
    for p in procs:
        out, err = p.communicate(timeout=240)
        assert p.returncode == 0, err
        assert len(out.split()) == n
    for prefix in ("a", "b"):
        assert len(_ids(url, "signal_log", prefix)) == n
        assert len(_ids(url, "risk_book", prefix)) == n
    storage = SqlStorage.open(url)
    stat = storage.patterns.get("shared-hash")
    assert stat is not None and (stat.total, stat.wins) == (2 * n, n), "pattern counter lost an update"
    assert storage.signal_log.pending() == []
    storage.close()
    with sqlite3.connect(tmp_path / "shared.sqlite3") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
