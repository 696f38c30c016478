"""In-memory repositories (risk book with its queries, patterns, deployments, signal/block log, order
intents) and an in-memory store with units of work (`InMemoryStorage`), the mock of `StorageUnitOfWork`."""

from __future__ import annotations

import copy
from typing import Any

import attrs

from domain.deployment import Deployment
from domain.order_intent import IntentStatus, OrderIntent
from domain.risk_book import PatternStat, TradeRecord
from domain.risk_stats import GroupStats, group_stats, summarise
from domain.signals import Block, Mode, Signal
from ports.errors import DuplicateRecord, StorageError


class InMemoryRiskBook:
    def __init__(self) -> None:
        self._rows: dict[str, TradeRecord] = {}

    def add(self, record: TradeRecord) -> None:
        old = self._rows.get(record.signal_id)
        if old is not None and old != record:
            raise DuplicateRecord(f"risk book already holds a different record {record.signal_id}")
        self._rows[record.signal_id] = record

    def update(self, record: TradeRecord) -> None:
        if record.signal_id not in self._rows:
            raise StorageError(f"no risk book record {record.signal_id} to update")
        self._rows[record.signal_id] = record

    def get(self, signal_id: str) -> TradeRecord | None:
        return self._rows.get(signal_id)

    def records(self, since_ms: int | None = None, mode: Mode | None = None) -> list[TradeRecord]:
        out = [
            r
            for r in self._rows.values()
            if (since_ms is None or r.entry_time_ms >= since_ms) and (mode is None or r.mode == mode)
        ]
        return sorted(out, key=lambda r: (r.entry_time_ms, r.signal_id))

    def open_records(self, mode: Mode | None = None) -> list[TradeRecord]:
        return [r for r in self.records(mode=mode) if r.result is None]

    # --- RiskBookQueries: the domain's own statistics over the matching closed records
    def _closed(self, since_ms: int | None, until_ms: int | None, mode: Mode | None) -> list[TradeRecord]:
        return [
            r
            for r in self.records(since_ms, mode)
            if r.result is not None and (until_ms is None or r.entry_time_ms < until_ms)
        ]

    def performance(self, since_ms: int, until_ms: int | None = None, mode: Mode | None = None) -> GroupStats:
        return summarise(self._closed(since_ms, until_ms, mode))

    def by_model_version(self, since_ms: int | None = None, mode: Mode | None = None) -> list[GroupStats]:
        return group_stats(self._closed(since_ms, None, mode), "model_version")

    def by_session(self, since_ms: int | None = None, mode: Mode | None = None) -> list[GroupStats]:
        return group_stats(self._closed(since_ms, None, mode), "session")


class InMemoryPatterns:
    def __init__(self) -> None:
        self._rows: dict[str, PatternStat] = {}

    def get(self, pattern_hash: str) -> PatternStat | None:
        return self._rows.get(pattern_hash)

    def record_outcome(self, name: str, pattern_hash: str, won: bool) -> PatternStat:
        stat = self._rows.get(pattern_hash) or PatternStat(name, pattern_hash)
        stat = stat.record(won)
        self._rows[pattern_hash] = stat
        return stat

    def upsert(self, stat: PatternStat) -> None:
        self._rows[stat.pattern_hash] = stat

    def all(self, min_total: int = 0) -> list[PatternStat]:
        return [s for _, s in sorted(self._rows.items()) if s.total >= min_total]


class InMemoryDeployments:
    def __init__(self) -> None:
        self._rows: list[Deployment] = []

    def record(self, deployment: Deployment) -> None:
        self._rows.append(deployment)

    def current(self) -> Deployment | None:
        live = [d for d in self.history() if d.rollback_reason is None]
        return live[-1] if live else None

    def history(self) -> list[Deployment]:
        return sorted(self._rows, key=lambda d: (d.deployed_at_ms, d.version))

    def mark_rolled_back(self, version: str, reason: str) -> None:
        idx = [i for i, d in enumerate(self._rows) if d.version == version]
        if not idx:
            raise StorageError(f"no deployment of version {version}")
        latest = max(idx, key=lambda i: self._rows[i].deployed_at_ms)
        self._rows[latest] = attrs.evolve(self._rows[latest], rollback_reason=reason)


class InMemorySignalLog:
    def __init__(self) -> None:
        self._signals: dict[str, Signal] = {}
        self._status: dict[str, str] = {}
        self._blocks: list[Block] = []

    def log_signal(self, signal: Signal) -> None:
        if signal.signal_id in self._signals:
            return
        self._signals[signal.signal_id] = signal
        self._status[signal.signal_id] = "pending"

    def mark_sent(self, signal_id: str) -> None:
        if signal_id not in self._status:
            raise StorageError(f"no logged signal {signal_id}")
        self._status[signal_id] = "sent"

    def status(self, signal_id: str) -> str | None:
        return self._status.get(signal_id)

    def pending(self, mode: Mode | None = None) -> list[Signal]:
        return [
            s for s in self.signals() if self._status[s.signal_id] == "pending" and (mode is None or s.mode == mode)
        ]

    def signals(self, since_ms: int = 0) -> list[Signal]:
        out = [s for s in self._signals.values() if s.created_at_ms >= since_ms]
        return sorted(out, key=lambda s: (s.created_at_ms, s.signal_id))

    def log_block(self, block: Block) -> None:
        self._blocks.append(block)

    def blocks(self, since_ms: int = 0) -> list[Block]:
        return [b for b in self._blocks if b.at_ms >= since_ms]


class InMemoryOrderIntents:
    def __init__(self) -> None:
        self._rows: dict[str, OrderIntent] = {}

    def add(self, intent: OrderIntent) -> None:
        existing = self._rows.get(intent.client_order_id)
        if existing is None:
            self._rows[intent.client_order_id] = intent
        elif existing != intent:
            raise DuplicateRecord(f"order intents already hold a different intent {intent.client_order_id}")

    def _move(self, client_order_id: str, status: IntentStatus, **changes: Any) -> None:
        row = self._rows.get(client_order_id)
        if row is None:
            raise StorageError(f"no order intent {client_order_id}")
        if row.status == "pending":
            self._rows[client_order_id] = attrs.evolve(row, status=status, **changes)
        elif row.status != status:
            raise StorageError(f"order intent {client_order_id} is {row.status}, cannot become {status}")

    def mark_sent(self, client_order_id: str, at_ms: int, position_id: str = "") -> None:
        self._move(client_order_id, "sent", updated_at_ms=at_ms, position_id=position_id)

    def mark_failed(self, client_order_id: str, at_ms: int, detail: str) -> None:
        self._move(client_order_id, "failed", updated_at_ms=at_ms, detail=detail)

    def get(self, client_order_id: str) -> OrderIntent | None:
        return self._rows.get(client_order_id)

    def pending(self, mode: Mode | None = None) -> list[OrderIntent]:
        out = [i for i in self._rows.values() if i.status == "pending" and (mode is None or i.mode == mode)]
        return sorted(out, key=lambda i: (i.created_at_ms, i.client_order_id))


# Repository methods that write; a unit of work journals them and replays them on commit.
_WRITES = frozenset(
    {
        "add",
        "update",
        "record_outcome",
        "upsert",
        "record",
        "mark_rolled_back",
        "log_signal",
        "mark_sent",
        "log_block",
        "mark_failed",
    }
)
_REPOS = ("risk_book", "signal_log", "patterns", "deployments", "order_intents")


def _clone(repo: Any) -> Any:
    """A copy whose containers are independent of the original's (rows are immutable values)."""
    c = copy.copy(repo)
    for k, v in vars(repo).items():
        if isinstance(v, dict | list):
            setattr(c, k, copy.copy(v))
    return c


class _Journaled:
    """A repository inside a unit of work: reads and writes a private copy, journals every write."""

    def __init__(self, name: str, work: Any, journal: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]]) -> None:
        self._name, self._work, self._journal = name, work, journal

    def __getattr__(self, attr: str) -> Any:
        fn = getattr(self._work, attr)
        if attr not in _WRITES:
            return fn

        def write(*args: Any, **kwargs: Any) -> Any:
            out = fn(*args, **kwargs)  # raises (DuplicateRecord, StorageError) as the repository does
            self._journal.append((self._name, attr, args, kwargs))
            return out

        return write


class InMemoryUnitOfWork:
    """StorageUnitOfWork over an `InMemoryStorage`: writes stay private until `commit()`, which
    applies all of them or (if any fails against the store's current state) none."""

    def __init__(self, store: InMemoryStorage) -> None:
        self._store = store
        self._journal: list[tuple[str, str, tuple[Any, ...], dict[str, Any]]] = []
        self._open = False

    def __enter__(self) -> InMemoryUnitOfWork:
        self._journal = []
        for name in _REPOS:
            setattr(self, name, _Journaled(name, _clone(getattr(self._store, name)), self._journal))
        self._open = True
        return self

    def commit(self) -> None:
        if not self._open:
            raise RuntimeError("commit() outside the unit of work's `with` block")
        if self._store.fail_next_commit is not None:
            exc, self._store.fail_next_commit = self._store.fail_next_commit, None
            raise exc
        fresh = {name: _clone(getattr(self._store, name)) for name in _REPOS}
        for name, attr, args, kwargs in self._journal:
            getattr(fresh[name], attr)(*args, **kwargs)
        for name in _REPOS:  # all replayed: install the new state in the store's own repositories
            vars(getattr(self._store, name)).update(vars(fresh[name]))
        self._store.commits += 1
        self._journal = []

    def __exit__(self, *exc_info: object) -> None:
        self._journal = []  # anything not committed is dropped
        self._open = False


class InMemoryStorage:
    """The store as one object, like `adapters.storage.unit_of_work.SqlStorage`: repositories that
    each commit on their own, plus `unit_of_work()` for atomic groups. Test controls:
    `fail_next_commit` (an exception the next commit raises, writing nothing) and `commits`."""

    def __init__(self) -> None:
        self.risk_book = InMemoryRiskBook()
        self.signal_log = InMemorySignalLog()
        self.patterns = InMemoryPatterns()
        self.deployments = InMemoryDeployments()
        self.order_intents = InMemoryOrderIntents()
        self.fail_next_commit: Exception | None = None
        self.commits = 0

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)
