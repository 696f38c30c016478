"""runtime_state.save is one upsert: two writers saving the same mode at once never collide (the old
delete + insert failed cycles with UniqueViolation pk_runtime_state on PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

from adapters.storage import migrate
from adapters.storage.engine import create_engine_for
from adapters.storage.runtime_state import SqlRuntimeStateStore
from ports.runtime_state import RuntimeState
from tests.integration.storage.pg import fresh_schema


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        u = f"sqlite:///{tmp_path / 'state.sqlite3'}"
        migrate.upgrade(u)
        yield u
        return
    with fresh_schema("state") as u:
        migrate.upgrade(u)
        yield u


def test_concurrent_saves_of_one_mode_never_collide(url: str) -> None:
    stores = [SqlRuntimeStateStore(create_engine_for(url)) for _ in range(2)]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(store: SqlRuntimeStateStore, offset: int) -> None:
        start.wait()
        try:
            for i in range(40):
                store.save(attrs.evolve(RuntimeState("dryrun"), cycles=offset + i, updated_at_ms=offset + i))
        except BaseException as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s, 1000 * k)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    saved = stores[0].load("dryrun")
    assert saved is not None and saved.cycles in (39, 1039)
    for s in stores:
        s.close()
