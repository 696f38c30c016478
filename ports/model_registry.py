"""ModelRegistry: trained model artefacts, their metrics and stage."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.deployment import ModelRecord


@runtime_checkable
class ModelRegistry(Protocol):
    """Contract:
    - `register(record)` adds a (name, version); registering the identical record again is a
      no-op, a different record under the same (name, version) raises `ports.errors.DuplicateRecord`.
    - `get(name, version)` returns it or raises `ports.errors.UnknownModel`.
    - `records(name=None)` returns records ordered by created_at_ms then version.
    - `promote(name, version)` makes it the only "production" record of that name (the previous
      one becomes "archived"); `production(name)` returns it or None.
    """

    def register(self, record: ModelRecord) -> None: ...

    def get(self, name: str, version: str) -> ModelRecord: ...

    def records(self, name: str | None = None) -> list[ModelRecord]: ...

    def promote(self, name: str, version: str) -> ModelRecord: ...

    def production(self, name: str) -> ModelRecord | None: ...
