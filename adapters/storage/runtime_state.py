"""RuntimeStateStore on SQLAlchemy (SQLite file or PostgreSQL): one JSON row per mode.

It uses the storage schema's key/value `runtime_state` table (key, value, updated_at) under the key
`runtime:<mode>`. The table is created when missing (checkfirst) so the store also works on a bare
file in tests; the runtime runs the migrations first, so alembic normally owns it. The JSON payload
carries a version number.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from adapters.storage import tables
from adapters.storage.engine import WRITE
from adapters.storage.repositories import _insert
from domain.policy import PolicyState
from domain.signals import Tier, TierThresholds
from ports.errors import StorageError
from ports.runtime_state import PairHysteresis, RuntimeState

PAYLOAD_VERSION = 1

# The schema's own table (adapters/storage/tables.py), not a copy of its shape.
runtime_state_table = tables.runtime_state


def _key(mode: str, namespace: str = "runtime") -> str:
    return f"{namespace}:{mode}"


def state_to_json(state: RuntimeState) -> str:
    p = state.policy
    payload: dict[str, Any] = {
        "v": PAYLOAD_VERSION,
        "mode": state.mode,
        "thresholds": [state.thresholds.low, state.thresholds.medium, state.thresholds.high],
        "policy": {
            "kill_switch": p.kill_switch,
            "emitted": [[t, tier.name] for t, tier in p.emitted],
            "losses": list(p.losses),
            "backoff_until_ms": p.backoff_until_ms,
            "halted_reason": p.halted_reason,
            "halted_until_ms": p.halted_until_ms,
        },
        "hysteresis": [[h.pair, [list(x) for x in h.history]] for h in state.hysteresis],
        "last_cycle_ms": state.last_cycle_ms,
        "cycles": state.cycles,
        "updated_at_ms": state.updated_at_ms,
    }
    return json.dumps(payload, separators=(",", ":"))


def state_from_json(text: str) -> RuntimeState:
    d = json.loads(text)
    if d.get("v") != PAYLOAD_VERSION:
        raise StorageError(f"runtime state payload version {d.get('v')!r} is not {PAYLOAD_VERSION}")
    p = d["policy"]
    low, medium, high = d["thresholds"]
    return RuntimeState(
        mode=d["mode"],
        thresholds=TierThresholds(low, medium, high),
        policy=PolicyState(
            kill_switch=bool(p["kill_switch"]),
            emitted=tuple((int(t), Tier[name]) for t, name in p["emitted"]),
            losses=tuple(int(t) for t in p["losses"]),
            backoff_until_ms=p["backoff_until_ms"],
            halted_reason=p["halted_reason"],
            halted_until_ms=p["halted_until_ms"],
        ),
        hysteresis=tuple(
            PairHysteresis(pair, tuple((int(a), int(b)) for a, b in hist)) for pair, hist in d["hysteresis"]
        ),
        last_cycle_ms=d["last_cycle_ms"],
        cycles=int(d["cycles"]),
        updated_at_ms=int(d["updated_at_ms"]),
    )


class SqlRuntimeStateStore:
    """Saves each mode's state with one upsert (INSERT ... ON CONFLICT DO UPDATE)."""

    def __init__(self, url_or_engine: str | sa.Engine, namespace: str = "runtime") -> None:
        """`namespace` keeps replays' state ("replay") apart from the real service's ("runtime"), so a
        replay can never overwrite an operator's kill switch or thresholds."""
        self.engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        self.namespace = namespace
        self._writer = self.engine.execution_options(**{WRITE: True})  # SQLite: BEGIN IMMEDIATE
        try:
            runtime_state_table.create(self.engine, checkfirst=True)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot prepare runtime state table: {exc}") from exc

    def load(self, mode: str) -> RuntimeState | None:
        try:
            with self.engine.connect() as conn:
                key = _key(mode, self.namespace)
                row = conn.execute(
                    sa.select(runtime_state_table.c.value).where(runtime_state_table.c.key == key)
                ).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot load runtime state: {exc}") from exc
        return None if row is None else state_from_json(row[0])

    def save(self, state: RuntimeState) -> None:
        try:
            with self._writer.begin() as conn:
                key = _key(state.mode, self.namespace)
                values = {"value": state_to_json(state), "updated_at": state.updated_at_ms}
                # One statement, atomic on both backends: two writers never both insert the key
                # (a delete + insert raced into UniqueViolation pk_runtime_state on PostgreSQL).
                conn.execute(
                    _insert(conn, runtime_state_table)
                    .values(key=key, **values)
                    .on_conflict_do_update(index_elements=[runtime_state_table.c.key], set_=values)
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot save runtime state: {exc}") from exc

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def close(self) -> None:
        self.engine.dispose()
