"""In-memory repositories: risk book, patterns, deployments, signal/block log."""

from __future__ import annotations

import attrs

from domain.deployment import Deployment
from domain.risk_book import PatternStat, TradeRecord
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
            r for r in self._rows.values()
            if (since_ms is None or r.entry_time_ms >= since_ms) and (mode is None or r.mode == mode)
        ]
        return sorted(out, key=lambda r: (r.entry_time_ms, r.signal_id))

    def open_records(self, mode: Mode | None = None) -> list[TradeRecord]:
        return [r for r in self.records(mode=mode) if r.result is None]


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

    def pending(self) -> list[Signal]:
        return [s for s in self.signals() if self._status[s.signal_id] == "pending"]

    def signals(self, since_ms: int = 0) -> list[Signal]:
        out = [s for s in self._signals.values() if s.created_at_ms >= since_ms]
        return sorted(out, key=lambda s: (s.created_at_ms, s.signal_id))

    def log_block(self, block: Block) -> None:
        self._blocks.append(block)

    def blocks(self, since_ms: int = 0) -> list[Block]:
        return [b for b in self._blocks if b.at_ms >= since_ms]
