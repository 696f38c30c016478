"""Backups and restores: SQLite through its online-backup API, PostgreSQL through pg_dump/pg_restore.

The SQLite backup API copies a consistent snapshot while the runtime keeps writing (WAL mode);
a restore copies pages back the same way, so connections open elsewhere see the old or the new
database, never a torn file. PostgreSQL dumps are custom-format (`pg_dump -Fc`) of the schema the
URL works in (its search_path), restored with `pg_restore --clean --if-exists` into that schema.
Point-in-time recovery for PostgreSQL is WAL archiving on the server: see docs/storage.md.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from adapters.storage.engine import DatabaseUnavailable, create_engine_for, normalize_url, sqlite_path
from domain.errors import UserError

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(UserError):
    """A backup or restore could not be done (missing tool, wrong file kind, failed command)."""


def _stamp() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


def _target(dest: Path, suffix: str) -> Path:
    """`dest` itself when it names a file, else a time-stamped file inside the directory `dest`."""
    if dest.suffix:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    return dest / f"trading_ai-{_stamp()}{suffix}"


def _pg_env(u: URL) -> dict[str, str]:
    env = dict(os.environ)
    for var, value in (
        ("PGHOST", u.host),
        ("PGPORT", u.port),
        ("PGUSER", u.username),
        ("PGDATABASE", u.database),
        ("PGPASSWORD", u.password),
    ):
        if value is not None:
            env[var] = str(value)
    return env


def _current_schema(url: URL) -> str:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SELECT current_schema()")).scalar())
    except sa.exc.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot reach PostgreSQL: {str(exc.orig).strip().splitlines()[0]}") from None
    finally:
        engine.dispose()


def _run(argv: list[str], env: dict[str, str]) -> None:
    tool = shutil.which(argv[0])
    if tool is None:
        raise BackupError(f"{argv[0]} not found on PATH; install the PostgreSQL client tools")
    # A fixed argv built here (tool found on PATH, options we chose); no shell.
    res = subprocess.run(  # noqa: S603  # nosec B603
        [tool, *argv[1:]], env=env, capture_output=True, text=True, check=False
    )
    if res.returncode != 0:
        lines = [ln for ln in res.stderr.strip().splitlines() if ln.strip()] or [f"exit code {res.returncode}"]
        raise BackupError(f"{argv[0]} failed: {lines[0]}")


def backup(url: str | URL, dest: Path) -> Path:
    """Write a backup of the database at `url` to `dest` (a file, or a directory for a stamped file)."""
    u = normalize_url(url)
    if u.get_backend_name() == "sqlite":
        src = sqlite_path(u)
        if src is None or not src.exists():
            raise BackupError(f"no SQLite database file at {src}; nothing to back up")
        out = _target(dest, ".sqlite3")
        partial = out.with_name(out.name + ".partial")
        partial.unlink(missing_ok=True)
        with sqlite3.connect(src) as source, sqlite3.connect(partial) as copy:
            source.backup(copy)
            if copy.execute("PRAGMA integrity_check").fetchone() != ("ok",):
                raise BackupError(f"backup of {src} failed its integrity check")
        source.close()
        copy.close()
        os.replace(partial, out)
        return out
    if u.get_backend_name() == "postgresql":
        out = _target(dest, ".pgdump")
        schema = _current_schema(u)
        _run(["pg_dump", "--format=custom", "--no-owner", f"--schema={schema}", f"--file={out}"], _pg_env(u))
        return out
    raise BackupError(f"backups support SQLite and PostgreSQL, not {u.get_backend_name()}")


def restore(url: str | URL, file: Path) -> Path | None:
    """Replace the database at `url` with the backup `file`.

    For SQLite the replaced database is first saved beside it (`<db>.pre-restore-<time>`); that
    path is returned. The backup's schema revision is whatever it was; run `trading-ai db upgrade`
    afterwards if it is older than the code.
    """
    if not file.is_file():
        raise BackupError(f"backup file {file} does not exist")
    with open(file, "rb") as fh:
        magic = fh.read(16)
    u = normalize_url(url)
    if u.get_backend_name() == "sqlite":
        if magic != SQLITE_MAGIC:
            raise BackupError(f"{file} is not a SQLite backup (restore a .sqlite3 file made by `trading-ai db backup`)")
        target = sqlite_path(u)
        if target is None:
            raise BackupError("cannot restore into an in-memory SQLite database")
        saved: Path | None = None
        if target.exists():
            saved = backup(u, target.with_name(f"{target.name}.pre-restore-{_stamp()}.sqlite3"))
        target.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(file) as source, sqlite3.connect(target, timeout=30) as live:
            source.backup(live)
        source.close()
        live.close()
        return saved
    if u.get_backend_name() == "postgresql":
        if not magic.startswith(PGDUMP_MAGIC):
            raise BackupError(f"{file} is not a pg_dump custom-format file (made by `trading-ai db backup`)")
        schema = _current_schema(u)
        _run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--schema={schema}",
                f"--dbname={u.database}",
                str(file),
            ],
            _pg_env(u),
        )
        return None
    raise BackupError(f"restores support SQLite and PostgreSQL, not {u.get_backend_name()}")
