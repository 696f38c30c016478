"""In-memory ModelRegistry."""

from __future__ import annotations

import attrs

from domain.deployment import ModelRecord
from ports.errors import DuplicateRecord, UnknownModel


class InMemoryModelRegistry:
    def __init__(self) -> None:
        self._models: dict[tuple[str, str], ModelRecord] = {}

    def register(self, record: ModelRecord) -> None:
        key = (record.name, record.version)
        old = self._models.get(key)
        if old is not None and old != record:
            raise DuplicateRecord(f"model {record.name} {record.version} is already registered differently")
        self._models[key] = record

    def get(self, name: str, version: str) -> ModelRecord:
        try:
            return self._models[(name, version)]
        except KeyError:
            raise UnknownModel(f"no model {name} version {version}") from None

    def records(self, name: str | None = None) -> list[ModelRecord]:
        out = [m for m in self._models.values() if name is None or m.name == name]
        return sorted(out, key=lambda m: (m.created_at_ms, m.version))

    def promote(self, name: str, version: str) -> ModelRecord:
        target = self.get(name, version)
        for key, m in list(self._models.items()):
            if m.name == name and m.stage == "production" and m.version != version:
                self._models[key] = attrs.evolve(m, stage="archived")
        promoted = attrs.evolve(target, stage="production")
        self._models[(name, version)] = promoted
        return promoted

    def production(self, name: str) -> ModelRecord | None:
        return next((m for m in self._models.values() if m.name == name and m.stage == "production"), None)
