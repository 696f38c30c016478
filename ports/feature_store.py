"""FeatureStore: computed feature matrices, keyed by (pair, timeframe, feature version)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.feature_matrix import FeatureMatrix


@runtime_checkable
class FeatureStore(Protocol):
    """Contract:
    - `put(matrix)` stores/merges rows by ts for the key (pair, timeframe, version); rows with an
      existing ts are replaced (idempotent re-put). Column names must match the stored ones, else
      `ports.errors.StorageError`.
    - `get(pair, timeframe, version, start_ms, end_ms)` returns rows with start_ms <= ts < end_ms,
      ts ascending; a missing key returns None.
    - `keys()` lists stored (pair, timeframe, version) triples, sorted.
    """

    def put(self, matrix: FeatureMatrix) -> None: ...

    def get(
        self, pair: str, timeframe: str, version: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> FeatureMatrix | None: ...

    def keys(self) -> list[tuple[str, str, str]]: ...
