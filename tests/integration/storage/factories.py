"""SQL storage adapters for the contract suites in tests/contract/test_storage_contract.py.

SQLite: a migrated file (WAL) in the test's tmp_path. PostgreSQL: this process's throwaway schema
(tests/integration/storage/pg.py), emptied before each use; one engine per process so the suites
do not open a connection pool per test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.storage import migrate
from adapters.storage.tables import metadata
from adapters.storage.unit_of_work import SqlStorage
from tests.integration.storage import pg

_pg_storage: dict[str, SqlStorage] = {}


def sqlite_storage(tmp_path: Path) -> SqlStorage:
    url = f"sqlite:///{tmp_path / 'contract.sqlite3'}"
    migrate.upgrade(url)
    return SqlStorage.open(url)


def postgres_storage(tmp_path: Path) -> SqlStorage:
    if "s" not in _pg_storage:
        _pg_storage["s"] = SqlStorage.open(pg.shared_schema_url())
    storage = _pg_storage["s"]
    with storage.engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY"))
    return storage


def params(attr: str | None) -> list[Any]:
    """pytest.params building `storage.<attr>` (or the SqlStorage itself) on SQLite and PostgreSQL."""

    def on(build: Any) -> Any:
        return lambda tmp_path: build(tmp_path) if attr is None else getattr(build(tmp_path), attr)

    return [
        pytest.param(on(sqlite_storage), id="sqlite"),
        pytest.param(on(postgres_storage), id="postgres", marks=pytest.mark.pg),
    ]
