"""Databases for the storage integration tests: a SQLite file per test, a PostgreSQL schema per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from adapters.storage import migrate
from adapters.storage.engine import create_engine_for
from adapters.storage.tables import metadata
from tests.integration.storage import pg


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """One migrated schema for the whole session (tables emptied before each test that uses it)."""
    with pg.fresh_schema("test") as url:
        migrate.upgrade(url)
        yield url


def _truncate(url: str) -> None:
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a SQLite file (WAL) or the session's PostgreSQL schema."""
    url: str
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'trading_ai.sqlite3'}"
        migrate.upgrade(url)
        return url
    url = request.getfixturevalue("pg_session_url")
    _truncate(url)
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no schema at all (a fresh PostgreSQL schema, dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    with pg.fresh_schema("test") as url:
        yield url
