"""Engines from DATABASE_URL, tuned per backend, and the schema-version gate.

SQLite (the default) runs in WAL mode so readers never block the writer, with a busy timeout so
concurrent writers in other processes wait instead of failing, foreign keys on, and
`synchronous=FULL` because the risk book is the record of real money. Write transactions start
with `BEGIN IMMEDIATE` (take the write lock up front): a deferred transaction that reads and then
writes can fail with SQLITE_BUSY regardless of the timeout when another process committed between.

Relative SQLite paths resolve against the project root, not the working directory, so the runtime
and `trading-ai db ...` run from anywhere open the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url

from domain.errors import CorruptFile, UserError
from ports.errors import StaleSchema

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option read by the `begin` hook: True makes a SQLite transaction BEGIN IMMEDIATE.
WRITE = "trading_ai_write"


class SchemaOutdated(StaleSchema, UserError):
    """The database schema is not the one this code expects; the message names the fixing command."""


class DatabaseUnavailable(UserError):
    """The database URL is malformed or the server cannot be reached."""


SUPPORTED_BACKENDS = ("sqlite", "postgresql", "postgres")


def normalize_url(url: str | URL, base_dir: Path | None = None) -> URL:
    """The URL with the psycopg 3 driver for PostgreSQL and an absolute path for a SQLite file."""
    try:
        u = make_url(url) if isinstance(url, str) else url
    except sa.exc.ArgumentError as exc:
        raise DatabaseUnavailable(f"DATABASE_URL is not a database URL: {exc}") from None
    backend = u.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseUnavailable(
            f"DATABASE_URL {u.render_as_string(hide_password=True)!r}: the {backend!r} database is not supported; "
            "use sqlite:///PATH or postgresql://USER@HOST/DB"
        )
    if backend in ("postgresql", "postgres") and u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    try:
        u.get_dialect()
    except sa.exc.NoSuchModuleError:
        raise DatabaseUnavailable(
            f"DATABASE_URL {u.render_as_string(hide_password=True)!r}: unknown driver {u.drivername!r}; use "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        ) from None
    if backend == "sqlite" and u.database not in (None, "", ":memory:") and not u.database.startswith("file:"):
        path = Path(u.database).expanduser()
        if not path.is_absolute():
            path = (base_dir or PROJECT_ROOT) / path
        u = u.set(database=str(path))
    return u


def redacted(url: str | URL) -> str:
    """The URL for messages: password hidden, SQLite path made absolute."""
    try:
        return normalize_url(url).render_as_string(hide_password=True)
    except DatabaseUnavailable:
        return "<unparseable url>"


def sqlite_path(url: str | URL) -> Path | None:
    """The file of a SQLite URL, or None for other backends and in-memory databases."""
    u = normalize_url(url)
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:"):
        return None
    return Path(u.database)


def create_engine_for(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for the URL with the backend's durability and concurrency settings applied."""
    u = normalize_url(url)
    try:
        if u.get_backend_name() == "sqlite":
            path = sqlite_path(u)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
            engine = sa.create_engine(u, **kwargs)
            _tune_sqlite(engine, wal=path is not None)
            return engine
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(u, **kwargs)
    except sa.exc.NoSuchModuleError:
        raise DatabaseUnavailable(
            f"DATABASE_URL {redacted(u)}: unknown driver {u.drivername!r}; use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB"
        ) from None
    except ImportError as exc:
        raise DatabaseUnavailable(
            f"DATABASE_URL {redacted(u)}: its driver is not installed ({exc.name or exc}); for PostgreSQL "
            "install the pg extra (pip install '.[pg]')"
        ) from None
    except (sa.exc.ArgumentError, TypeError, ValueError) as exc:
        raise DatabaseUnavailable(f"DATABASE_URL {redacted(u)} is invalid: {str(exc).splitlines()[0]}") from None
    except OSError as exc:
        raise DatabaseUnavailable(f"cannot create the directory of {redacted(u)}: {exc.strerror or exc}") from None


def _tune_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is deferred and skips DDL).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if wal:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=FULL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# --- schema version ------------------------------------------------------------------------------


def script_directory() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS_DIR))


def head_revision() -> str:
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the repository always ships migrations
        raise RuntimeError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


def current_revision(conn: sa.Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def unreadable(url: str | URL, exc: sa.exc.DBAPIError) -> UserError:
    """The one-line error for a database that cannot be opened: a SQLite file that is not a database
    (CorruptFile naming it), else the server's first line (unreachable, refused, auth...)."""
    first = (str(exc.orig).strip().splitlines() or [type(exc.orig).__name__])[0] if exc.orig else str(exc)
    path = sqlite_path(url)
    if path is not None and ("not a database" in first or "malformed" in first or "disk image" in first):
        return CorruptFile(
            f"database file {path} is not a SQLite database ({first}); restore it with "
            "`trading-ai db restore FILE` or move it away and run `trading-ai db upgrade`"
        )
    return DatabaseUnavailable(f"cannot open database {redacted(url)}: {first}")


def check_schema(engine: Engine) -> str:
    """The database's revision if it is the code's head; otherwise SchemaOutdated naming the fix."""
    head = head_revision()
    path = sqlite_path(engine.url)
    if path is not None and not path.exists():
        raise SchemaOutdated(f"no database file at {path}; run `trading-ai db upgrade` to create it")
    if path is not None and path.stat().st_size == 0:  # not even a header: nothing to open (and nothing written)
        raise SchemaOutdated(
            f"database {redacted(engine.url)} has no trading-ai schema yet; run `trading-ai db upgrade`"
        )
    try:
        with engine.connect() as conn:
            current = current_revision(conn)
    except sa.exc.DBAPIError as exc:
        raise unreadable(engine.url, exc) from None
    if current == head:
        return current
    where = redacted(engine.url)
    if current is None:
        raise SchemaOutdated(f"database {where} has no trading-ai schema yet; run `trading-ai db upgrade`")
    known = {rev.revision for rev in script_directory().walk_revisions()}
    if current not in known:
        raise SchemaOutdated(
            f"database {where} is at revision {current}, which this version of trading-ai does not know "
            f"(newer code wrote it?); upgrade trading-ai or run `trading-ai db downgrade {head}` with the newer code"
        )
    raise SchemaOutdated(
        f"database {where} schema is at revision {current} but this code needs {head}; run `trading-ai db upgrade`"
    )


def open_engine(url: str | URL, *, check: bool = True, **kwargs: Any) -> Engine:
    """The engine the application runs on; refuses (SchemaOutdated) unless the schema is current."""
    if check:  # a missing SQLite file is refused before anything (its directory included) is created
        path = sqlite_path(url)
        if path is not None and not path.exists():
            raise SchemaOutdated(f"no database file at {path}; run `trading-ai db upgrade` to create it")
    engine = create_engine_for(url, **kwargs)
    if check:
        try:
            check_schema(engine)
        except BaseException:
            engine.dispose()
            raise
    return engine
