"""One runtime per account: an exclusive lock on (database, mode) held for the whole `trading-ai run`.

Two runtimes on one database and mode would both emit (duplicate signals, orders sent twice). So the
runtime takes, before it builds anything:

- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection it keeps open. The
  key is derived from the database, the schema search path and the mode. The connection carries an
  `application_name` naming this process, so a refused second runtime can name the holder
  (`pg_locks` joined with `pg_stat_activity`). The server drops the lock when the connection
  closes: on exit, and on a crash as soon as the process's socket is gone.
- SQLite: an exclusive `flock` on a lock file beside the database (`<db>.<mode>.lock`), with the
  holder (pid, host, start time) written into it. The kernel releases it when the process exits or
  dies; the file itself stays (its content is rewritten by the next holder).

A refused start raises `InstanceLocked` (a UserError: one line, exit code 2) naming the holder.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any

from domain.errors import UserError

# pg_try_advisory_lock(int4, int4): the first key marks trading-ai's instance locks apart from any
# other advisory lock on the server, the second is the (database, schema, mode) hash.
PG_LOCK_CLASS = 0x74A1  # "tA"
APP_NAME_PREFIX = "trading-ai run"


class InstanceLocked(UserError):
    """Another runtime holds this database and mode."""


def _holder_text(pid: Any, host: str, started: str) -> str:
    return f"pid {pid} on {host or '?'}" + (f", started {started}" if started else "")


def _started_now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


class InstanceLock:
    """Acquire with `acquire()` (or as a context manager); `release()` is idempotent."""

    def __init__(self, url: str, mode: str) -> None:
        self.url = url
        self.mode = mode
        self._fd: int | None = None
        self._engine: Any = None
        self._conn: Any = None
        self.path: Path | None = None

    # ---------------------------------------------------------------- public
    def acquire(self) -> InstanceLock:
        from adapters.storage.engine import normalize_url, sqlite_path

        u = normalize_url(self.url)
        backend = u.get_backend_name()
        if backend == "sqlite":
            path = sqlite_path(u)
            if path is not None:  # an in-memory database is private to its process: nothing to share
                self._acquire_file(path.with_name(f"{path.name}.{self.mode}.lock"))
        elif backend == "postgresql":
            self._acquire_pg(u)
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def __enter__(self) -> InstanceLock:
        return self.acquire()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()

    # ---------------------------------------------------------------- SQLite: a lock file
    def _acquire_file(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise InstanceLocked(
                f"another trading-ai run holds {self.mode} on this database ({self._file_holder(path)}; "
                f"lock file {path}); stop it first"
            ) from None
        os.ftruncate(fd, 0)
        info = {"pid": os.getpid(), "host": socket.gethostname(), "mode": self.mode, "started": _started_now()}
        os.write(fd, (json.dumps(info) + "\n").encode())
        os.fsync(fd)
        self._fd = fd
        self.path = path

    @staticmethod
    def _file_holder(path: Path) -> str:
        try:
            info = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return "holder unknown"
        return _holder_text(info.get("pid", "?"), str(info.get("host", "")), str(info.get("started", "")))

    # ---------------------------------------------------------------- PostgreSQL: an advisory lock
    def _acquire_pg(self, u: Any) -> None:
        import sqlalchemy as sa

        from adapters.storage.engine import DatabaseUnavailable, redacted

        app = f"{APP_NAME_PREFIX} {self.mode} pid={os.getpid()} host={socket.gethostname()} since={_started_now()}"
        engine = sa.create_engine(
            u, poolclass=sa.pool.NullPool, connect_args={"application_name": app[:63], "connect_timeout": 10}
        )
        try:
            conn = engine.connect()
        except sa.exc.OperationalError as exc:
            engine.dispose()
            first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(f"cannot open database {redacted(u)}: {first}") from None
        try:
            where = conn.execute(sa.text("SELECT current_database(), current_schemas(false)::text")).one()
            key = _pg_key(f"{where[0]}|{where[1]}|{self.mode}")
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:c, :k)"), {"c": PG_LOCK_CLASS, "k": key}).scalar()
            if not got:
                holder = conn.execute(
                    sa.text(
                        "SELECT a.pid, a.application_name, a.client_addr::text, a.backend_start "
                        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                        "WHERE l.locktype = 'advisory' AND l.classid::bigint = :c AND l.objid::bigint = :k "
                        "AND l.granted "
                        "LIMIT 1"
                    ),
                    {"c": PG_LOCK_CLASS, "k": key & 0xFFFFFFFF},
                ).first()
                conn.commit()
                raise InstanceLocked(
                    f"another trading-ai run holds {self.mode} on database {redacted(u)} "
                    f"({_pg_holder(holder)}); stop it first"
                )
            conn.commit()  # the session lock outlives the transaction; leave no transaction open
        except BaseException:
            conn.close()
            engine.dispose()
            raise
        self._engine, self._conn = engine, conn


def _pg_key(text: str) -> int:
    """A signed int4 from a stable hash (advisory keys are int4 pairs)."""
    h = zlib.crc32(text.encode())
    return h - (1 << 32) if h >= (1 << 31) else h


def _pg_holder(row: Any) -> str:
    if row is None:
        return "holder unknown"
    pid, app, addr, since = row
    if app and str(app).startswith(APP_NAME_PREFIX):
        return f"{app} (server backend {pid}{', from ' + addr if addr else ''})"
    return f"server backend {pid}{', from ' + addr if addr else ''}, connected since {since}"
