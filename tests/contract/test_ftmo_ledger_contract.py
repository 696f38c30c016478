"""FtmoLedgerStore contract, run against the in-memory mock, a real SQLite file and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.mocks.ftmo_ledger import InMemoryFtmoLedgerStore
from adapters.storage.ftmo_ledger import SqlFtmoLedgerStore
from domain.ftmo import FtmoState
from ports.ftmo_ledger import FtmoLedgerStore

MIDNIGHT = 1_704_236_400_000


def _pg_url() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=2):
            return "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    except Exception:
        return None


@pytest.fixture(params=["mock", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FtmoLedgerStore]:
    if request.param == "mock":
        yield InMemoryFtmoLedgerStore()
        return
    if request.param == "sqlite":
        s = SqlFtmoLedgerStore(f"sqlite:///{tmp_path / 'ledger.sqlite3'}")
        yield s
        s.engine.dispose()
        return
    url = _pg_url()
    if url is None:
        pytest.skip("PostgreSQL on 127.0.0.1:5432 not reachable")
    import sqlalchemy as sa

    existed = sa.inspect(sa.create_engine(url)).has_table("ftmo_ledger")
    ns = f"test{secrets.token_hex(4)}"  # keys of this run only
    s = SqlFtmoLedgerStore(url, namespace=ns)
    yield s
    with s.engine.begin() as conn:
        if existed:  # leave the shared database as found: alembic must be able to create the table itself
            conn.execute(sa.text("DELETE FROM ftmo_ledger WHERE key LIKE :k"), {"k": f"{ns}:%"})
        else:
            conn.execute(sa.text("DROP TABLE ftmo_ledger"))
    s.engine.dispose()


def _ledger() -> FtmoState:
    led = FtmoState.start(MIDNIGHT - 3_600_000, 100_000.0, 100_012.5).with_trade_opened(MIDNIGHT - 60_000)
    led = led.advance(MIDNIGHT - 30_000, 101_234.5678901234).advance(MIDNIGHT + 60_000, 101_234.5678901234, 99_000.1)
    return led.advance(MIDNIGHT + 120_000, 100_999.0000000001).with_breach(True)


def test_nothing_saved_loads_none(store: FtmoLedgerStore) -> None:
    assert store.load("dryrun") is None


def test_round_trip_is_exact_and_modes_are_apart(store: FtmoLedgerStore) -> None:
    led = _ledger()
    store.save("dryrun", led, MIDNIGHT)
    assert store.load("dryrun") == led
    assert store.load("live") is None
    later = led.advance(MIDNIGHT + 86_400_000, 100_500.0)
    store.save("dryrun", later, MIDNIGHT + 1)  # replaced, not added
    assert store.load("dryrun") == later


def test_a_fresh_ledger_round_trips(store: FtmoLedgerStore) -> None:
    led = FtmoState(MIDNIGHT, 100_000.0, 100_000.0)  # no observation, no equity yet
    store.save("live", led, MIDNIGHT)
    assert store.load("live") == led
