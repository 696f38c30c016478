"""In-memory FeatureStore."""

from __future__ import annotations

import numpy as np

from domain.feature_matrix import FeatureMatrix
from ports.errors import StorageError


class InMemoryFeatureStore:
    def __init__(self) -> None:
        self._data: dict[tuple[str, str, str], FeatureMatrix] = {}

    def put(self, matrix: FeatureMatrix) -> None:
        key = (matrix.pair, matrix.timeframe, matrix.version)
        old = self._data.get(key)
        if old is None:
            self._data[key] = matrix
            return
        if old.names != matrix.names:
            raise StorageError(f"feature columns {matrix.names} differ from stored {old.names} for {key}")
        keep = ~np.isin(old.ts, matrix.ts)
        ts = np.concatenate([old.ts[keep], matrix.ts])
        values = np.concatenate([old.values[keep], matrix.values])
        order = np.argsort(ts, kind="stable")
        self._data[key] = FeatureMatrix(*key, ts[order], old.names, values[order])

    def get(
        self, pair: str, timeframe: str, version: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> FeatureMatrix | None:
        m = self._data.get((pair, timeframe, version))
        if m is None:
            return None
        sel = np.ones(len(m), dtype=bool)
        if start_ms is not None:
            sel &= m.ts >= start_ms
        if end_ms is not None:
            sel &= m.ts < end_ms
        return FeatureMatrix(pair, timeframe, version, m.ts[sel], m.names, m.values[sel])

    def keys(self) -> list[tuple[str, str, str]]:
        return sorted(self._data)
