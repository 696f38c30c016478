"""FtmoLedgerStore on SQLAlchemy (SQLite file or PostgreSQL): one row per namespace and mode in the
schema's `ftmo_ledger` table (migration 0005). Saved with one upsert after every runtime cycle."""

from __future__ import annotations

import json

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from adapters.storage import tables
from adapters.storage.engine import WRITE
from adapters.storage.repositories import _insert
from domain.ftmo import FtmoState
from ports.errors import StorageError

ledger_table = tables.ftmo_ledger


def ledger_row(ledger: FtmoState) -> dict[str, object]:
    return {
        "day_start_ms": ledger.day_start_ms,
        "day_start_balance": ledger.day_start_balance,
        "day_start_equity": ledger.day_start_equity,
        "max_eod_balance": ledger.max_eod_balance,
        "trading_days": json.dumps(sorted(ledger.trading_days)),
        "day_profits": json.dumps([[d, p] for d, p in ledger.day_profits]),
        "last_ms": ledger.last_ms,
        "last_balance": ledger.last_balance,
        "in_breach": ledger.in_breach,
    }


def ledger_from_row(row: sa.Row[tuple[object, ...]]) -> FtmoState:
    m = row._mapping
    return FtmoState(
        day_start_ms=int(m["day_start_ms"]),
        day_start_balance=float(m["day_start_balance"]),
        max_eod_balance=float(m["max_eod_balance"]),
        trading_days=frozenset(int(d) for d in json.loads(m["trading_days"])),
        day_profits=tuple((int(d), float(p)) for d, p in json.loads(m["day_profits"])),
        day_start_equity=None if m["day_start_equity"] is None else float(m["day_start_equity"]),
        last_ms=None if m["last_ms"] is None else int(m["last_ms"]),
        last_balance=None if m["last_balance"] is None else float(m["last_balance"]),
        in_breach=bool(m["in_breach"]),
    )


class SqlFtmoLedgerStore:
    """`namespace` keeps a replay's ledger ("replay") apart from the real service's ("runtime")."""

    def __init__(self, url_or_engine: str | sa.Engine, namespace: str = "runtime") -> None:
        self.engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        self.namespace = namespace
        self._writer = self.engine.execution_options(**{WRITE: True})
        try:
            ledger_table.create(self.engine, checkfirst=True)
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot prepare the FTMO ledger table: {exc}") from exc

    def _key(self, mode: str) -> str:
        return f"{self.namespace}:{mode}"

    def load(self, mode: str) -> FtmoState | None:
        try:
            with self.engine.connect() as conn:
                row = conn.execute(sa.select(ledger_table).where(ledger_table.c.key == self._key(mode))).first()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot load the FTMO ledger: {exc}") from exc
        return None if row is None else ledger_from_row(row)

    def save(self, mode: str, ledger: FtmoState, now_ms: int) -> None:
        values = {**ledger_row(ledger), "updated_at": int(now_ms)}
        try:
            with self._writer.begin() as conn:
                conn.execute(
                    _insert(conn, ledger_table)
                    .values(key=self._key(mode), **values)
                    .on_conflict_do_update(index_elements=[ledger_table.c.key], set_=values)
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot save the FTMO ledger: {exc}") from exc
