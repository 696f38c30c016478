"""The SQL store as one object: repositories, units of work and the engine's lifetime.

storage = SqlStorage.open(config.database.url)       # refuses an outdated schema
with storage.unit_of_work() as uow:                   # ONE transaction
    uow.signal_log.log_signal(signal)                 # pending
    uow.risk_book.add(record)
    uow.commit()
notifier.send(...)
storage.signal_log.mark_sent(signal.signal_id)        # pending -> sent
"""

from __future__ import annotations

from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from adapters.storage.engine import WRITE, open_engine
from adapters.storage.repositories import (
    ConnectionScope,
    EngineScope,
    NowMs,
    SqlDeploymentRepository,
    SqlOrderIntentRepository,
    SqlPatternRepository,
    SqlRiskBookRepository,
    SqlSignalLogRepository,
    storage_error,
    wall_clock_ms,
)


class SqlUnitOfWork:
    """StorageUnitOfWork: one connection, one transaction; commit() or everything rolls back."""

    def __init__(self, engine: sa.Engine, now_ms: NowMs = wall_clock_ms) -> None:
        self._engine = engine
        self._now = now_ms
        self._conn: sa.Connection | None = None
        self._tx: sa.RootTransaction | None = None

    def __enter__(self) -> SqlUnitOfWork:
        try:
            self._conn = self._engine.connect().execution_options(**{WRITE: True})
            self._tx = self._conn.begin()
        except SQLAlchemyError as exc:
            if self._conn is not None:
                self._conn.close()
            raise storage_error(exc, "start a transaction") from exc
        scope = ConnectionScope(self._conn)
        self.risk_book = SqlRiskBookRepository(scope)
        self.signal_log = SqlSignalLogRepository(scope, self._now)
        self.patterns = SqlPatternRepository(scope, self._now)
        self.deployments = SqlDeploymentRepository(scope)
        self.order_intents = SqlOrderIntentRepository(scope)
        return self

    def commit(self) -> None:
        if self._tx is None:
            raise RuntimeError("commit() outside the unit of work's `with` block")
        try:
            self._tx.commit()
        except SQLAlchemyError as exc:
            raise storage_error(exc, "commit") from exc
        self._tx = None

    def rollback(self) -> None:
        if self._tx is not None:
            self._tx.rollback()
            self._tx = None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.rollback()
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


class SqlStorage:
    """Repositories that each commit on their own, plus `unit_of_work()` for atomic groups."""

    def __init__(self, engine: sa.Engine, now_ms: NowMs = wall_clock_ms) -> None:
        self.engine = engine
        self._now = now_ms
        scope = EngineScope(engine)
        self.risk_book = SqlRiskBookRepository(scope)
        self.signal_log = SqlSignalLogRepository(scope, now_ms)
        self.patterns = SqlPatternRepository(scope, now_ms)
        self.deployments = SqlDeploymentRepository(scope)
        self.order_intents = SqlOrderIntentRepository(scope)

    @classmethod
    def open(cls, url: str | URL, *, check_schema: bool = True, now_ms: NowMs = wall_clock_ms) -> SqlStorage:
        """Open DATABASE_URL; raises SchemaOutdated (a UserError naming `trading-ai db upgrade`)."""
        return cls(open_engine(url, check=check_schema), now_ms)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._now)

    def close(self) -> None:
        self.engine.dispose()
