"""RuntimeStateStore contract, run against the in-memory mock, a real SQLite file and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.mocks.runtime_state import InMemoryRuntimeStateStore
from adapters.storage.runtime_state import SqlRuntimeStateStore
from domain.policy import PolicyState
from domain.signals import Tier, TierThresholds
from ports.runtime_state import PairHysteresis, RuntimeState, RuntimeStateStore


def _pg_url() -> str | None:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test", connect_timeout=2):
            return "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    except Exception:
        return None


@pytest.fixture(params=["mock", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RuntimeStateStore]:
    if request.param == "mock":
        yield InMemoryRuntimeStateStore()
        return
    if request.param == "sqlite":
        s = SqlRuntimeStateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    else:
        url = _pg_url()
        if url is None:
            pytest.skip("PostgreSQL on 127.0.0.1:5432 not reachable")
        import sqlalchemy as sa

        existed = sa.inspect(sa.create_engine(url)).has_table("runtime_state")
        s = SqlRuntimeStateStore(url)
        with s.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM runtime_state WHERE key LIKE 'runtime:%'"))
        yield s
        with s.engine.begin() as conn:
            # Leave the shared test database as found: alembic must be able to create the table itself.
            if existed:
                conn.execute(sa.text("DELETE FROM runtime_state WHERE key LIKE 'runtime:%'"))
            else:
                conn.execute(sa.text("DROP TABLE runtime_state"))
        s.close()
        return
    yield s
    s.close()


def _rich_state(mode: str = "dryrun") -> RuntimeState:
    return RuntimeState(
        mode=mode,
        thresholds=TierThresholds(0.57, 0.61, 0.7),
        policy=PolicyState(
            kill_switch=True,
            emitted=((1_000, Tier.LOW), (2_000, Tier.HIGH)),
            losses=(1_500,),
            backoff_until_ms=9_000,
            halted_reason="daily_loss floor",
            halted_until_ms=86_400_000,
        ),
        hysteresis=(PairHysteresis("BTC/USDT", ((1, 2),)), PairHysteresis("ETH/USDT", ((-1, 0),))),
        last_cycle_ms=2_400_000,
        cycles=20,
        updated_at_ms=2_400_001,
    )


def test_missing_mode_loads_none(store: RuntimeStateStore) -> None:
    assert store.load("live") is None


def test_round_trip_is_exact(store: RuntimeStateStore) -> None:
    s = _rich_state()
    store.save(s)
    assert store.load("dryrun") == s
    assert store.load("live") is None


def test_save_replaces_and_modes_are_separate(store: RuntimeStateStore) -> None:
    store.save(_rich_state("dryrun"))
    store.save(_rich_state("live"))
    newer = RuntimeState(mode="dryrun", cycles=21, updated_at_ms=5)
    store.save(newer)
    store.save(newer)
    assert store.load("dryrun") == newer
    assert store.load("live") == _rich_state("live")


def test_sqlite_state_survives_a_new_store_on_the_same_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'restart.sqlite3'}"
    first = SqlRuntimeStateStore(url)
    first.save(_rich_state())
    first.close()
    again = SqlRuntimeStateStore(url)
    assert again.load("dryrun") == _rich_state()
    again.close()
