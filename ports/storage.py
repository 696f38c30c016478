"""Storage repositories: risk book, patterns, model deployments, signal/block log."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.deployment import Deployment
from domain.order_intent import OrderIntent
from domain.risk_book import PatternStat, TradeRecord
from domain.risk_stats import GroupStats
from domain.signals import Block, Mode, Signal


@runtime_checkable
class RiskBookRepository(Protocol):
    """Contract:
    - `add(record)`: insert; signal_id is unique. Adding an identical record again is a no-op
      (idempotent); a different record with the same signal_id raises `ports.errors.DuplicateRecord`.
    - `update(record)`: replace the record with the same signal_id (e.g. to close it); unknown
      signal_id raises `ports.errors.StorageError`.
    - `get(signal_id)` returns the record or None.
    - `records(since_ms=None, mode=None)` returns records with entry_time_ms >= since_ms (and the
      given mode), ordered by entry_time_ms then signal_id.
    - `open_records(mode=None)` returns records whose result is None, same order.
    - Failures raise `StorageError`; an out-of-date schema raises `StaleSchema`.
    """

    def add(self, record: TradeRecord) -> None: ...

    def update(self, record: TradeRecord) -> None: ...

    def get(self, signal_id: str) -> TradeRecord | None: ...

    def records(self, since_ms: int | None = None, mode: Mode | None = None) -> list[TradeRecord]: ...

    def open_records(self, mode: Mode | None = None) -> list[TradeRecord]: ...


@runtime_checkable
class PatternRepository(Protocol):
    """Contract:
    - `get(pattern_hash)` returns the stat or None.
    - `record_outcome(name, pattern_hash, won)` increments total (and wins if won), creating the
      pattern at 0/0 first; returns the updated stat.
    - `upsert(stat)` replaces the counts.
    - `all(min_total=0)` returns stats with total >= min_total ordered by pattern_hash.
    """

    def get(self, pattern_hash: str) -> PatternStat | None: ...

    def record_outcome(self, name: str, pattern_hash: str, won: bool) -> PatternStat: ...

    def upsert(self, stat: PatternStat) -> None: ...

    def all(self, min_total: int = 0) -> list[PatternStat]: ...


@runtime_checkable
class DeploymentRepository(Protocol):
    """Contract:
    - `record(deployment)` appends one deployment (an audit trail: nothing is ever deleted).
    - `current()` returns the latest deployment that was not rolled back, or None.
    - `history()` returns all deployments ordered by deployed_at_ms then version.
    - `mark_rolled_back(version, reason)` sets rollback_reason on that version's latest
      deployment; unknown version raises `StorageError`.
    """

    def record(self, deployment: Deployment) -> None: ...

    def current(self) -> Deployment | None: ...

    def history(self) -> list[Deployment]: ...

    def mark_rolled_back(self, version: str, reason: str) -> None: ...


@runtime_checkable
class SignalLogRepository(Protocol):
    """The outbox of emitted signals and the log of blocks.

    Contract:
    - `log_signal(signal)` stores it with status "pending"; logging the same signal_id again is a
      no-op (idempotent) and keeps its status.
    - `mark_sent(signal_id)` moves pending -> "sent" (idempotent); unknown id raises `StorageError`.
    - `status(signal_id)` returns "pending", "sent" or None.
    - `pending()` lists pending signals ordered by created_at_ms then signal_id.
    - `signals(since_ms=0)` lists signals with created_at_ms >= since_ms in that order.
    - `log_block(block)` appends; `blocks(since_ms=0)` lists blocks with at_ms >= since_ms in
      insertion order.
    """

    def log_signal(self, signal: Signal) -> None: ...

    def mark_sent(self, signal_id: str) -> None: ...

    def status(self, signal_id: str) -> str | None: ...

    def pending(self, mode: Mode | None = None) -> list[Signal]:
        """Signals logged but not yet notified, of `mode` only when given (a runtime re-sends its own)."""
        ...

    def signals(self, since_ms: int = 0) -> list[Signal]: ...

    def log_block(self, block: Block) -> None: ...

    def blocks(self, since_ms: int = 0) -> list[Block]: ...


@runtime_checkable
class OrderIntentRepository(Protocol):
    """Orders recorded before they are sent (domain.order_intent).

    Contract:
    - `add(intent)` stores it (normally "pending"); adding an identical intent again is a no-op, a
      different one with the same client_order_id raises `ports.errors.DuplicateRecord`.
    - `mark_sent(client_order_id, at_ms, position_id="")` and `mark_failed(client_order_id, at_ms,
      detail)` move a pending intent on (idempotent on the same status; an unknown id raises
      `StorageError`). A sent intent never becomes failed nor the reverse.
    - `get(client_order_id)` returns the intent or None.
    - `pending(mode=None)` lists pending intents ordered by created_at_ms then client_order_id.
    """

    def add(self, intent: OrderIntent) -> None: ...

    def mark_sent(self, client_order_id: str, at_ms: int, position_id: str = "") -> None: ...

    def mark_failed(self, client_order_id: str, at_ms: int, detail: str) -> None: ...

    def get(self, client_order_id: str) -> OrderIntent | None: ...

    def pending(self, mode: Mode | None = None) -> list[OrderIntent]: ...


@runtime_checkable
class RiskBookQueries(Protocol):
    """The plan's query patterns over closed risk-book records, aggregated by the store.

    Contract (every result equals `domain.risk_stats` over the same closed records):
    - A record counts when it is closed (result not None), its entry_time_ms is in
      [since_ms, until_ms) (bounds optional) and it has the given mode (if any).
    - `performance(since_ms, until_ms=None, mode=None)` -> one `GroupStats` keyed "all" (zero
      trades when nothing matches): the /stats numbers for the last 7/30 days.
    - `by_model_version(since_ms=None, mode=None)` and `by_session(since_ms=None, mode=None)` ->
      one `GroupStats` per version / session, ordered by key; an empty version or session is
      keyed "-" (as `domain.risk_stats.group_stats`).
    Pattern win rates above the sample floor are `PatternRepository.all(min_total=floor)`.
    """

    def performance(self, since_ms: int, until_ms: int | None = None, mode: Mode | None = None) -> GroupStats: ...

    def by_model_version(self, since_ms: int | None = None, mode: Mode | None = None) -> list[GroupStats]: ...

    def by_session(self, since_ms: int | None = None, mode: Mode | None = None) -> list[GroupStats]: ...


@runtime_checkable
class StorageUnitOfWork(Protocol):
    """Several repository writes committed as ONE transaction (a signal and its risk-book row).

    Contract:
    - Used as a context manager; the repositories it exposes write inside its transaction.
    - `commit()` makes everything durable at once; leaving the block without `commit()` (or by an
      exception) rolls everything back, so nothing half-written is ever visible.
    - The emit path is: in a unit, `signal_log.log_signal` (pending) + `risk_book.add`, `commit()`;
      then notify; then `signal_log.mark_sent`. A crash between commit and notify leaves the
      signal pending (recorded, re-sendable), never lost. When the runtime places orders, the
      intent (`order_intents.add`, pending) commits before the order is sent, and
      `order_intents.mark_sent` joins the unit that records the signal and its risk-book row.
    """

    @property
    def risk_book(self) -> RiskBookRepository: ...

    @property
    def signal_log(self) -> SignalLogRepository: ...

    @property
    def patterns(self) -> PatternRepository: ...

    @property
    def deployments(self) -> DeploymentRepository: ...

    @property
    def order_intents(self) -> OrderIntentRepository: ...

    def commit(self) -> None: ...

    def __enter__(self) -> StorageUnitOfWork: ...

    def __exit__(self, *exc_info: object) -> None: ...
