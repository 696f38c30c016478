"""Feature store-lite: versioned parquet files under `<store_dir>/features` with a JSON manifest.

Each (version, timeframe) lives in one date-stamped file `features_YYYY-MM-DD_<tf>_<version>.parquet`
(columns pair, ts, then the features); `manifest.json` lists every version with its file, creation
date, pairs, rows and whatever the builder recorded (parameters, code version, input hashes).
The version a builder uses is the hash of (code version, parameters, input data), so an unchanged
key is simply found in the manifest and reused instead of recomputed.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domain.errors import DataError
from domain.feature_matrix import FeatureMatrix
from ports.errors import StorageError

MANIFEST = "manifest.json"


def _today(now_ms: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(now_ms / 1000))


class ParquetFeatureStore:
    """FeatureStore over versioned parquet files; a clock decides the date stamp of new files."""

    def __init__(self, root: str | Path, now_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self._root = Path(root)
        self._now_ms = now_ms

    @property
    def root(self) -> Path:
        return self._root

    # ------------------------------------------------------------------ manifest
    def manifest(self) -> dict[str, Any]:
        path = self._root / MANIFEST
        if not path.exists():
            return {"versions": []}
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict) or not isinstance(data.get("versions"), list):
                raise ValueError("no 'versions' list")
            return data
        except (ValueError, OSError) as exc:
            raise DataError(
                f"feature manifest {path} is corrupt ({exc}); delete {self._root} and rerun `trading-ai features build`"
            ) from exc

    def _write_manifest(self, data: Mapping[str, Any]) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        tmp = self._root / (MANIFEST + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, self._root / MANIFEST)

    def _entry(self, timeframe: str, version: str) -> dict[str, Any] | None:
        for e in self.manifest()["versions"]:
            if e["version"] == version and e["timeframe"] == timeframe:
                return dict(e)
        return None

    def versions(self) -> list[dict[str, Any]]:
        return list(self.manifest()["versions"])

    def describe(self, timeframe: str, version: str, meta: Mapping[str, Any]) -> None:
        """Record what a version was built from (parameters, code version, input hashes)."""
        data = self.manifest()
        for e in data["versions"]:
            if e["version"] == version and e["timeframe"] == timeframe:
                e["meta"] = dict(meta)
        self._write_manifest(data)

    def file_of(self, timeframe: str, version: str) -> Path | None:
        e = self._entry(timeframe, version)
        return None if e is None else self._root / e["file"]

    # ------------------------------------------------------------------ file I/O
    def _read(self, path: Path) -> pa.Table:
        try:
            return pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise DataError(
                f"feature file {path} is unreadable ({exc}); delete it and its manifest entry "
                f"({self._root / MANIFEST}) and rerun `trading-ai features build`"
            ) from exc

    @staticmethod
    def _names(table: pa.Table) -> tuple[str, ...]:
        return tuple(n for n in table.column_names if n not in ("pair", "ts"))

    # ------------------------------------------------------------------ FeatureStore port
    def put(self, matrix: FeatureMatrix) -> None:
        entry = self._entry(matrix.timeframe, matrix.version)
        new = pa.table(
            {
                "pair": pa.array([matrix.pair] * len(matrix), type=pa.string()),
                "ts": pa.array(matrix.ts, type=pa.int64()),
                **{n: pa.array(matrix.values[:, j]) for j, n in enumerate(matrix.names)},
            }
        )
        data = self.manifest()
        if entry is None:
            fname = f"features_{_today(self._now_ms())}_{matrix.timeframe}_{matrix.version}.parquet"
            table = new
            data["versions"].append(
                {
                    "version": matrix.version,
                    "timeframe": matrix.timeframe,
                    "file": fname,
                    "created": _today(self._now_ms()),
                    "names": list(matrix.names),
                }
            )
        else:
            fname = entry["file"]
            old = self._read(self._root / fname)
            if self._names(old) != matrix.names:
                raise StorageError(
                    f"feature columns {matrix.names} differ from stored {self._names(old)} "
                    f"for version {matrix.version} {matrix.timeframe}"
                )
            same_pair = pc.equal(old.column("pair"), matrix.pair)
            replaced = pc.and_(same_pair, pc.is_in(old.column("ts"), value_set=pa.array(matrix.ts)))
            table = pa.concat_tables([old.filter(pc.invert(replaced)), new])
            table = table.sort_by([("pair", "ascending"), ("ts", "ascending")])
        self._root.mkdir(parents=True, exist_ok=True)
        tmp = self._root / (fname + ".tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, self._root / fname)
        pairs = sorted(set(table.column("pair").to_pylist()))
        for e in data["versions"]:
            if e["version"] == matrix.version and e["timeframe"] == matrix.timeframe:
                e["pairs"] = pairs
                e["rows"] = table.num_rows
        self._write_manifest(data)

    def get(
        self, pair: str, timeframe: str, version: str, start_ms: int | None = None, end_ms: int | None = None
    ) -> FeatureMatrix | None:
        path = self.file_of(timeframe, version)
        if path is None:
            return None
        table = self._read(path)
        table = table.filter(pc.equal(table.column("pair"), pair))
        if table.num_rows == 0:
            return None
        ts = np.asarray(table.column("ts").to_numpy(), dtype=np.int64)
        sel = np.ones(ts.shape[0], dtype=bool)
        if start_ms is not None:
            sel &= ts >= start_ms
        if end_ms is not None:
            sel &= ts < end_ms
        names = self._names(table)
        values = np.empty((int(sel.sum()), len(names)))
        for j, n in enumerate(names):
            values[:, j] = np.asarray(table.column(n).to_numpy(), dtype=np.float64)[sel]
        order = np.argsort(ts[sel], kind="stable")
        return FeatureMatrix(pair, timeframe, version, ts[sel][order], names, values[order])

    def keys(self) -> list[tuple[str, str, str]]:
        out = []
        for e in self.manifest()["versions"]:
            for p in e.get("pairs", []):
                out.append((p, e["timeframe"], e["version"]))
        return sorted(out)
