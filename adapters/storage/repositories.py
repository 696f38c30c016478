"""SQLAlchemy implementations of the storage ports (ports/storage.py) for SQLite and PostgreSQL.

Every repository runs on a `Scope`: outside a unit of work each call is its own transaction;
inside one (adapters/storage/unit_of_work.py) all calls share the unit's connection and commit
together. Writes that must not race (pattern counters, idempotent inserts) use single statements
that both backends execute atomically (`INSERT ... ON CONFLICT DO NOTHING`, `UPDATE ... SET
total = total + 1`), and SQLite write transactions take the write lock up front (BEGIN IMMEDIATE).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from adapters.storage import tables as t
from adapters.storage.engine import WRITE, SchemaOutdated
from domain.deployment import Deployment
from domain.order_intent import OrderIntent
from domain.risk_book import PatternStat, TradeRecord
from domain.risk_stats import GroupStats
from domain.signals import Block, BlockReason, Direction, Mode, Signal, Tier
from ports.errors import DuplicateRecord, StorageError

NowMs = Callable[[], int]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


# --- transaction scopes --------------------------------------------------------------------------


def _missing_schema(exc: SQLAlchemyError) -> bool:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).lower()
    # psycopg raises UndefinedTable/UndefinedColumn; sqlite3 says "no such table/column".
    return (
        type(orig).__name__ in ("UndefinedTable", "UndefinedColumn")
        or "no such table" in text
        or "no such column" in text
    )


def storage_error(exc: SQLAlchemyError, doing: str) -> StorageError:
    if _missing_schema(exc):
        return SchemaOutdated(f"database schema is missing tables or columns ({doing}); run `trading-ai db upgrade`")
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return StorageError(f"cannot {doing}: {lines[0] if lines else type(exc).__name__}")


class Scope:
    """Where a repository's statements run: `read()` and `write()` yield a connection."""

    def read(self, doing: str) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError

    def write(self, doing: str) -> AbstractContextManager[sa.Connection]:
        raise NotImplementedError


class EngineScope(Scope):
    """Each call in its own transaction (committed on success)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{WRITE: True})

    @contextmanager
    def read(self, doing: str) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise storage_error(exc, doing) from exc

    @contextmanager
    def write(self, doing: str) -> Iterator[sa.Connection]:
        try:
            with self._writer.begin() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise storage_error(exc, doing) from exc


class ConnectionScope(Scope):
    """Calls share one open transaction; the owner (a unit of work) commits or rolls back."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn

    @contextmanager
    def _use(self, doing: str) -> Iterator[sa.Connection]:
        try:
            yield self.conn
        except SQLAlchemyError as exc:
            raise storage_error(exc, doing) from exc

    def read(self, doing: str) -> AbstractContextManager[sa.Connection]:
        return self._use(doing)

    def write(self, doing: str) -> AbstractContextManager[sa.Connection]:
        return self._use(doing)


def _insert(conn: sa.Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which offers on_conflict_do_nothing/do_update on both backends."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    raise StorageError(f"unsupported database backend {conn.dialect.name!r}; use SQLite or PostgreSQL")


# --- row mapping ---------------------------------------------------------------------------------


def _opt_float(v: Any) -> float | None:
    return None if v is None else float(v)


def _opt_int(v: Any) -> int | None:
    return None if v is None else int(v)


def trade_to_row(r: TradeRecord) -> dict[str, Any]:
    return {
        "signal_id": r.signal_id,
        "pair": r.pair,
        "tier": r.tier.name,
        "entry_time": r.entry_time_ms,
        "entry_price": r.entry_price,
        "tp_price": r.tp_price,
        "sl_price": r.sl_price,
        "rr_expected": r.rr_expected,
        "result": r.result,
        "exit_time": r.exit_time_ms,
        "exit_price": r.exit_price,
        "r_realized": r.r_realized,
        "time_to_tp_sl_seconds": r.time_to_tp_sl_seconds,
        "slippage_bps": r.slippage_bps,
        "slippage_expected_bps": r.slippage_expected_bps,
        "spread_bps": r.spread_bps,
        "latency_ms": r.latency_ms,
        "mode": Mode(r.mode).value,
        "model_version": r.model_version,
        "session": r.session,
    }


def trade_from_row(m: Mapping[Any, Any]) -> TradeRecord:
    return TradeRecord(
        signal_id=m["signal_id"],
        pair=m["pair"],
        tier=Tier[m["tier"]],
        entry_time_ms=int(m["entry_time"]),
        entry_price=float(m["entry_price"]),
        tp_price=float(m["tp_price"]),
        sl_price=float(m["sl_price"]),
        rr_expected=float(m["rr_expected"]),
        result=m["result"],
        exit_time_ms=_opt_int(m["exit_time"]),
        exit_price=_opt_float(m["exit_price"]),
        r_realized=_opt_float(m["r_realized"]),
        time_to_tp_sl_seconds=_opt_float(m["time_to_tp_sl_seconds"]),
        slippage_bps=_opt_float(m["slippage_bps"]),
        slippage_expected_bps=_opt_float(m["slippage_expected_bps"]),
        spread_bps=_opt_float(m["spread_bps"]),
        latency_ms=_opt_float(m["latency_ms"]),
        mode=Mode(m["mode"]),
        model_version=m["model_version"],
        session=m["session"],
    )


def signal_to_row(s: Signal) -> dict[str, Any]:
    return {
        "signal_id": s.signal_id,
        "pair": s.pair,
        "direction": s.direction.value,
        "tier": s.tier.name,
        "confidence": s.confidence,
        "entry": s.entry,
        "tp": s.tp,
        "sl": s.sl,
        "rr": s.rr,
        "created_at": s.created_at_ms,
        "model_versions": json.dumps(list(s.model_versions)),
        "reasons": json.dumps(list(s.reasons)),
        "mode": Mode(s.mode).value,
    }


def signal_from_row(m: Mapping[Any, Any]) -> Signal:
    return Signal(
        signal_id=m["signal_id"],
        pair=m["pair"],
        direction=Direction(m["direction"]),
        tier=Tier[m["tier"]],
        confidence=float(m["confidence"]),
        entry=float(m["entry"]),
        tp=float(m["tp"]),
        sl=float(m["sl"]),
        rr=float(m["rr"]),
        created_at_ms=int(m["created_at"]),
        model_versions=tuple(json.loads(m["model_versions"])),
        reasons=tuple(json.loads(m["reasons"])),
        mode=Mode(m["mode"]),
    )


def block_to_row(b: Block) -> dict[str, Any]:
    return {
        "pair": b.pair,
        "reason": BlockReason(b.reason).value,
        "detail": b.detail,
        "at": b.at_ms,
        "tier": b.tier.name,
        "confidence": b.confidence,
        "mode": Mode(b.mode).value,
    }


def block_from_row(m: Mapping[Any, Any]) -> Block:
    return Block(
        pair=m["pair"],
        reason=BlockReason(m["reason"]),
        detail=m["detail"],
        at_ms=int(m["at"]),
        tier=Tier[m["tier"]],
        confidence=_opt_float(m["confidence"]),
        mode=Mode(m["mode"]),
    )


def deployment_from_row(m: Mapping[Any, Any]) -> Deployment:
    return Deployment(
        version=m["version"],
        model_path=m["model_path"],
        deployed_at_ms=int(m["deployed_at"]),
        metrics_json=m["metrics_json"],
        rollback_reason=m["rollback_reason"],
    )


# --- repositories --------------------------------------------------------------------------------

_rb = t.risk_book
_RB_ORDER = (_rb.c.entry_time, _rb.c.signal_id)


class SqlRiskBookRepository:
    """RiskBookRepository and RiskBookQueries on SQL. Aggregates run in the database on indexed columns."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, record: TradeRecord) -> None:
        row = trade_to_row(record)
        with self._scope.write(f"add risk-book record {record.signal_id}") as conn:
            stmt = _insert(conn, _rb).values(**row).on_conflict_do_nothing(index_elements=["signal_id"])
            if conn.execute(stmt).rowcount == 1:
                return
            existing = conn.execute(sa.select(_rb).where(_rb.c.signal_id == record.signal_id)).mappings().first()
        if existing is None or trade_from_row(existing) != record:
            raise DuplicateRecord(f"risk book already holds a different record for signal {record.signal_id}")

    def update(self, record: TradeRecord) -> None:
        row = trade_to_row(record)
        with self._scope.write(f"update risk-book record {record.signal_id}") as conn:
            done = conn.execute(_rb.update().where(_rb.c.signal_id == record.signal_id).values(**row)).rowcount
        if done != 1:
            raise StorageError(f"risk book has no record for signal {record.signal_id}")

    def get(self, signal_id: str) -> TradeRecord | None:
        with self._scope.read(f"read risk-book record {signal_id}") as conn:
            row = conn.execute(sa.select(_rb).where(_rb.c.signal_id == signal_id)).mappings().first()
        return None if row is None else trade_from_row(row)

    def records(self, since_ms: int | None = None, mode: Mode | None = None) -> list[TradeRecord]:
        q = sa.select(_rb).order_by(*_RB_ORDER)
        if since_ms is not None:
            q = q.where(_rb.c.entry_time >= since_ms)
        if mode is not None:
            q = q.where(_rb.c.mode == Mode(mode).value)
        with self._scope.read("read risk book") as conn:
            return [trade_from_row(m) for m in conn.execute(q).mappings()]

    def open_records(self, mode: Mode | None = None) -> list[TradeRecord]:
        q = sa.select(_rb).where(_rb.c.result.is_(None)).order_by(*_RB_ORDER)
        if mode is not None:
            q = q.where(_rb.c.mode == Mode(mode).value)
        with self._scope.read("read open risk-book records") as conn:
            return [trade_from_row(m) for m in conn.execute(q).mappings()]

    # -- query patterns (RiskBookQueries) --

    def _closed(self, since_ms: int | None, until_ms: int | None, mode: Mode | None) -> list[Any]:
        conds: list[Any] = [_rb.c.result.is_not(None)]
        if since_ms is not None:
            conds.append(_rb.c.entry_time >= since_ms)
        if until_ms is not None:
            conds.append(_rb.c.entry_time < until_ms)
        if mode is not None:
            conds.append(_rb.c.mode == Mode(mode).value)
        return conds

    def _grouped(self, key: sa.ColumnElement[Any] | None, conds: list[Any], doing: str) -> list[GroupStats]:
        wins = sa.func.coalesce(sa.func.sum(sa.case((_rb.c.result == "W", 1), else_=0)), 0)
        total_r = sa.func.coalesce(sa.func.sum(_rb.c.r_realized), 0.0)
        cols: list[Any] = [sa.func.count().label("trades"), wins.label("wins"), total_r.label("total_r")]
        if key is None:
            q = sa.select(*cols).where(*conds)
        else:
            q = sa.select(key.label("key"), *cols).where(*conds).group_by(key).order_by(key)
        with self._scope.read(doing) as conn:
            rows = conn.execute(q).mappings().all()
        return [
            GroupStats(
                str(m["key"]) if key is not None else "all", int(m["trades"]), int(m["wins"]), float(m["total_r"])
            )
            for m in rows
        ]

    def performance(self, since_ms: int, until_ms: int | None = None, mode: Mode | None = None) -> GroupStats:
        return self._grouped(None, self._closed(since_ms, until_ms, mode), "read performance")[0]

    def by_model_version(self, since_ms: int | None = None, mode: Mode | None = None) -> list[GroupStats]:
        key = sa.case((_rb.c.model_version == "", "-"), else_=_rb.c.model_version)
        return self._grouped(key, self._closed(since_ms, None, mode), "read accuracy by model version")

    def by_session(self, since_ms: int | None = None, mode: Mode | None = None) -> list[GroupStats]:
        key = sa.case((_rb.c.session == "", "-"), else_=_rb.c.session)
        return self._grouped(key, self._closed(since_ms, None, mode), "read session analysis")


_pt = t.patterns


class SqlPatternRepository:
    def __init__(self, scope: Scope, now_ms: NowMs = wall_clock_ms) -> None:
        self._scope = scope
        self._now = now_ms

    @staticmethod
    def _stat(m: Mapping[Any, Any]) -> PatternStat:
        return PatternStat(name=m["name"], pattern_hash=m["pattern_hash"], wins=int(m["wins"]), total=int(m["total"]))

    def get(self, pattern_hash: str) -> PatternStat | None:
        with self._scope.read(f"read pattern {pattern_hash}") as conn:
            row = conn.execute(sa.select(_pt).where(_pt.c.pattern_hash == pattern_hash)).mappings().first()
        return None if row is None else self._stat(row)

    def record_outcome(self, name: str, pattern_hash: str, won: bool) -> PatternStat:
        now = self._now()
        with self._scope.write(f"record outcome of pattern {pattern_hash}") as conn:
            conn.execute(
                _insert(conn, _pt)
                .values(name=name, pattern_hash=pattern_hash, wins=0, total=0, created_at=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=["pattern_hash"])
            )
            row = (
                conn.execute(
                    _pt.update()
                    .where(_pt.c.pattern_hash == pattern_hash)
                    .values(wins=_pt.c.wins + int(bool(won)), total=_pt.c.total + 1, updated_at=now)
                    .returning(_pt.c.name, _pt.c.pattern_hash, _pt.c.wins, _pt.c.total)
                )
                .mappings()
                .one()
            )
        return self._stat(row)

    def upsert(self, stat: PatternStat) -> None:
        now = self._now()
        with self._scope.write(f"save pattern {stat.pattern_hash}") as conn:
            stmt = _insert(conn, _pt).values(
                name=stat.name,
                pattern_hash=stat.pattern_hash,
                wins=stat.wins,
                total=stat.total,
                created_at=now,
                updated_at=now,
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["pattern_hash"],
                    set_={"name": stat.name, "wins": stat.wins, "total": stat.total, "updated_at": now},
                )
            )

    def all(self, min_total: int = 0) -> list[PatternStat]:
        q = sa.select(_pt).order_by(_pt.c.pattern_hash)
        if min_total > 0:
            q = q.where(_pt.c.total >= min_total)
        with self._scope.read("read patterns") as conn:
            return [self._stat(m) for m in conn.execute(q).mappings()]


_md = t.model_deployments
_MD_ORDER = (_md.c.deployed_at, _md.c.version, _md.c.id)


class SqlDeploymentRepository:
    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def record(self, deployment: Deployment) -> None:
        with self._scope.write(f"record deployment {deployment.version}") as conn:
            conn.execute(
                _md.insert().values(
                    version=deployment.version,
                    model_path=deployment.model_path,
                    deployed_at=deployment.deployed_at_ms,
                    metrics_json=deployment.metrics_json,
                    rollback_reason=deployment.rollback_reason,
                )
            )

    def current(self) -> Deployment | None:
        q = sa.select(_md).where(_md.c.rollback_reason.is_(None)).order_by(*(c.desc() for c in _MD_ORDER)).limit(1)
        with self._scope.read("read current deployment") as conn:
            row = conn.execute(q).mappings().first()
        return None if row is None else deployment_from_row(row)

    def history(self) -> list[Deployment]:
        with self._scope.read("read deployment history") as conn:
            return [deployment_from_row(m) for m in conn.execute(sa.select(_md).order_by(*_MD_ORDER)).mappings()]

    def mark_rolled_back(self, version: str, reason: str) -> None:
        with self._scope.write(f"mark deployment {version} rolled back") as conn:
            latest = conn.execute(
                sa.select(_md.c.id)
                .where(_md.c.version == version)
                .order_by(_md.c.deployed_at.desc(), _md.c.id.desc())
                .limit(1)
            ).scalar()
            if latest is None:
                raise StorageError(f"no deployment of version {version} recorded")
            conn.execute(_md.update().where(_md.c.id == latest).values(rollback_reason=reason))


_sl = t.signal_log
_bl = t.block_log
_SL_ORDER = (_sl.c.created_at, _sl.c.signal_id)


class SqlSignalLogRepository:
    """The signal outbox (pending -> sent) and the block log."""

    def __init__(self, scope: Scope, now_ms: NowMs = wall_clock_ms) -> None:
        self._scope = scope
        self._now = now_ms

    def log_signal(self, signal: Signal) -> None:
        with self._scope.write(f"log signal {signal.signal_id}") as conn:
            conn.execute(
                _insert(conn, _sl)
                .values(**signal_to_row(signal), status="pending")
                .on_conflict_do_nothing(index_elements=["signal_id"])
            )

    def mark_sent(self, signal_id: str) -> None:
        with self._scope.write(f"mark signal {signal_id} sent") as conn:
            found = conn.execute(
                _sl.update()
                .where(_sl.c.signal_id == signal_id, _sl.c.status == "pending")
                .values(status="sent", sent_at=self._now())
            ).rowcount
            if not found and conn.execute(sa.select(_sl.c.id).where(_sl.c.signal_id == signal_id)).first() is None:
                raise StorageError(f"signal log has no signal {signal_id}")

    def status(self, signal_id: str) -> str | None:
        with self._scope.read(f"read status of signal {signal_id}") as conn:
            value = conn.execute(sa.select(_sl.c.status).where(_sl.c.signal_id == signal_id)).scalar()
        return None if value is None else str(value)

    def pending(self, mode: Mode | None = None) -> list[Signal]:
        q = sa.select(_sl).where(_sl.c.status == "pending").order_by(*_SL_ORDER)
        if mode is not None:
            q = q.where(_sl.c.mode == Mode(mode).value)
        with self._scope.read("read pending signals") as conn:
            return [signal_from_row(m) for m in conn.execute(q).mappings()]

    def signals(self, since_ms: int = 0) -> list[Signal]:
        q = sa.select(_sl).where(_sl.c.created_at >= since_ms).order_by(*_SL_ORDER)
        with self._scope.read("read signal log") as conn:
            return [signal_from_row(m) for m in conn.execute(q).mappings()]

    def log_block(self, block: Block) -> None:
        with self._scope.write(f"log block of {block.pair}") as conn:
            conn.execute(_bl.insert().values(**block_to_row(block)))

    def blocks(self, since_ms: int = 0) -> list[Block]:
        q = sa.select(_bl).where(_bl.c.at >= since_ms).order_by(_bl.c.id)
        with self._scope.read("read block log") as conn:
            return [block_from_row(m) for m in conn.execute(q).mappings()]


_oi = t.order_intents
_OI_ORDER = (_oi.c.created_at, _oi.c.client_order_id)


def intent_to_row(i: OrderIntent) -> dict[str, Any]:
    return {
        "client_order_id": i.client_order_id,
        "pair": i.pair,
        "side": i.direction.value,
        "volume": i.volume,
        "sl": i.sl,
        "tp": i.tp,
        "entry_hint": i.entry_hint,
        "tier": i.tier.name,
        "mode": Mode(i.mode).value,
        "status": i.status,
        "detail": i.detail,
        "position_id": i.position_id,
        "created_at": i.created_at_ms,
        "updated_at": i.updated_at_ms,
    }


def intent_from_row(m: Mapping[Any, Any]) -> OrderIntent:
    return OrderIntent(
        client_order_id=m["client_order_id"],
        pair=m["pair"],
        direction=Direction(m["side"]),
        volume=float(m["volume"]),
        sl=float(m["sl"]),
        tp=_opt_float(m["tp"]),
        entry_hint=_opt_float(m["entry_hint"]),
        tier=Tier[m["tier"]],
        mode=Mode(m["mode"]),
        created_at_ms=int(m["created_at"]),
        status=m["status"],
        detail=m["detail"],
        position_id=m["position_id"],
        updated_at_ms=_opt_int(m["updated_at"]),
    )


class SqlOrderIntentRepository:
    """OrderIntentRepository on SQL: pending -> sent | failed, each move one guarded UPDATE."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope

    def add(self, intent: OrderIntent) -> None:
        with self._scope.write(f"record order intent {intent.client_order_id}") as conn:
            stmt = (
                _insert(conn, _oi)
                .values(**intent_to_row(intent))
                .on_conflict_do_nothing(index_elements=["client_order_id"])
            )
            if conn.execute(stmt).rowcount == 1:
                return
            existing = (
                conn.execute(sa.select(_oi).where(_oi.c.client_order_id == intent.client_order_id)).mappings().first()
            )
        if existing is None or intent_from_row(existing) != intent:
            raise DuplicateRecord(f"order intents already hold a different intent {intent.client_order_id}")

    def _move(self, client_order_id: str, status: str, values: dict[str, Any]) -> None:
        with self._scope.write(f"mark order intent {client_order_id} {status}") as conn:
            done = conn.execute(
                _oi.update()
                .where(_oi.c.client_order_id == client_order_id, _oi.c.status == "pending")
                .values(status=status, **values)
            ).rowcount
            if done:
                return
            now = conn.execute(sa.select(_oi.c.status).where(_oi.c.client_order_id == client_order_id)).scalar()
        if now is None:
            raise StorageError(f"no order intent {client_order_id}")
        if now != status:
            raise StorageError(f"order intent {client_order_id} is {now}, cannot become {status}")

    def mark_sent(self, client_order_id: str, at_ms: int, position_id: str = "") -> None:
        self._move(client_order_id, "sent", {"updated_at": at_ms, "position_id": position_id})

    def mark_failed(self, client_order_id: str, at_ms: int, detail: str) -> None:
        self._move(client_order_id, "failed", {"updated_at": at_ms, "detail": detail})

    def get(self, client_order_id: str) -> OrderIntent | None:
        with self._scope.read(f"read order intent {client_order_id}") as conn:
            row = conn.execute(sa.select(_oi).where(_oi.c.client_order_id == client_order_id)).mappings().first()
        return None if row is None else intent_from_row(row)

    def pending(self, mode: Mode | None = None) -> list[OrderIntent]:
        q = sa.select(_oi).where(_oi.c.status == "pending").order_by(*_OI_ORDER)
        if mode is not None:
            q = q.where(_oi.c.mode == Mode(mode).value)
        with self._scope.read("read pending order intents") as conn:
            return [intent_from_row(m) for m in conn.execute(q).mappings()]
