"""Versioned, date-stamped JSON files of the execution model.

Layout in the store directory (config data.store_dir):
- `execution_metrics_YYYY-MM-DD.json`: one model per date (a second update on the same date
  replaces that date's file);
- `execution_metrics.json`: the current one. A relative symlink to a dated file, or, where the
  file system refuses symlinks, a small pointer file `{"pointer": "execution_metrics_....json"}`.

Every load validates: schema version, every pair x session present, non-negative and sorted
quantiles; errors name the file and the field.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from domain.errors import DataError, UserError
from domain.execution_costs import (
    DEFAULT_LATENCY_SLA_MS,
    N_QUANTILES,
    SCHEMA_VERSION,
    Distribution,
    ExecutionModel,
    ExecutionProfile,
    InvalidCostModel,
    QuoteSample,
)
from domain.market import Session, validate_symbol

POINTER_NAME: Final = "execution_metrics.json"
_DATED_RE: Final = re.compile(r"^execution_metrics_(\d{4}-\d{2}-\d{2})\.json$")


class MetricsFileError(DataError):
    """An execution-metrics file is missing, unreadable or invalid; the message names file and field."""


class MetricsNotFound(MetricsFileError):
    """No execution-metrics file exists yet."""


class UnknownMetricsDate(UserError):
    """Rollback to a date that has no file; the message lists the dates that exist."""


def dated_name(date: dt.date) -> str:
    return f"execution_metrics_{date.isoformat()}.json"


def _dist_to_json(d: Distribution) -> dict[str, Any]:
    return {
        "mean": d.mean,
        "p50": d.p50,
        "p90": d.p90,
        "count": d.count,
        "quantiles": list(d.quantiles),
    }


def model_to_json(model: ExecutionModel) -> dict[str, Any]:
    profiles: dict[str, dict[str, Any]] = {}
    for p in model.profiles:
        profiles.setdefault(p.pair, {})[p.session.value] = {
            "source": p.source,
            "spread_bps": _dist_to_json(p.spread),
            "slippage_bps": _dist_to_json(p.slippage),
            "spread_components_bps": dict(p.spread_components),
        }
    return {
        "schema_version": model.schema_version,
        "source": model.source,
        "as_of": model.as_of.isoformat(),
        "units": "basis points of price; spread = full bid-ask spread",
        "quantile_levels": f"percentiles 0..100 ({N_QUANTILES} values)",
        "metadata": dict(model.metadata),
        "profiles": profiles,
    }


class _Reader:
    """Field access that fails with the file and the field's path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, field: str, why: str) -> MetricsFileError:
        return MetricsFileError(f"{self.path}: field {field}: {why}")

    def get(self, obj: Mapping[str, Any], key: str, field: str, kind: type | tuple[type, ...]) -> Any:
        if not isinstance(obj, Mapping) or key not in obj:
            raise self.fail(field, "missing")
        val = obj[key]
        if kind in (float, (int, float)) and isinstance(val, bool):
            raise self.fail(field, f"expected a number, got {val!r}")
        if not isinstance(val, kind):
            raise self.fail(field, f"expected {getattr(kind, '__name__', kind)}, got {type(val).__name__}")
        return val

    def dist(self, obj: Mapping[str, Any], field: str) -> Distribution:
        mean = float(self.get(obj, "mean", f"{field}.mean", (int, float)))
        count = self.get(obj, "count", f"{field}.count", int)
        q = self.get(obj, "quantiles", f"{field}.quantiles", list)
        if len(q) != N_QUANTILES:
            raise self.fail(f"{field}.quantiles", f"expected {N_QUANTILES} values, got {len(q)}")
        for i, v in enumerate(q):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(f"{field}.quantiles[{i}]", f"expected a number, got {v!r}")
            if v < 0:
                raise self.fail(f"{field}.quantiles[{i}]", f"negative cost {v}")
        if mean < 0:
            raise self.fail(f"{field}.mean", f"negative cost {mean}")
        try:
            return Distribution(mean=mean, quantiles=q, count=count)
        except InvalidCostModel as e:
            raise self.fail(field, str(e)) from None


def model_from_json(
    data: Any,
    path: Path,
    *,
    required_pairs: Iterable[str] = (),
    latency_sla_ms: float = DEFAULT_LATENCY_SLA_MS,
) -> ExecutionModel:
    r = _Reader(path)
    if not isinstance(data, Mapping):
        raise MetricsFileError(f"{path}: expected a JSON object at the top level")
    version = r.get(data, "schema_version", "schema_version", int)
    if version != SCHEMA_VERSION:
        raise r.fail("schema_version", f"unknown schema version {version}; this build reads {SCHEMA_VERSION}")
    source = r.get(data, "source", "source", str)
    as_of_text = r.get(data, "as_of", "as_of", str)
    try:
        as_of = dt.date.fromisoformat(as_of_text)
    except ValueError:
        raise r.fail("as_of", f"not a date YYYY-MM-DD: {as_of_text!r}") from None
    metadata = data.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise r.fail("metadata", "expected an object")
    profiles_json = r.get(data, "profiles", "profiles", Mapping)
    pairs = {validate_symbol(p) for p in required_pairs} | set(profiles_json)
    profiles: list[ExecutionProfile] = []
    for pair in sorted(pairs):
        base = f"profiles.{pair}"
        by_session = r.get(profiles_json, pair, base, Mapping)
        for s in Session:
            field = f"{base}.{s.value}"
            cell = r.get(by_session, s.value, field, Mapping)
            spread = r.dist(r.get(cell, "spread_bps", f"{field}.spread_bps", Mapping), f"{field}.spread_bps")
            slip = r.dist(r.get(cell, "slippage_bps", f"{field}.slippage_bps", Mapping), f"{field}.slippage_bps")
            comps = cell.get("spread_components_bps", {})
            if not isinstance(comps, Mapping):
                raise r.fail(f"{field}.spread_components_bps", "expected an object")
            try:
                profiles.append(
                    ExecutionProfile(
                        pair,
                        s,
                        spread,
                        slip,
                        str(cell.get("source", source)),
                        {str(k): float(v) for k, v in comps.items()},
                    )
                )
            except (UserError, ValueError, TypeError) as e:
                raise r.fail(field, str(e)) from None
    return ExecutionModel(
        profiles,
        source=source,
        as_of=as_of,
        schema_version=version,
        latency_sla_ms=latency_sla_ms,
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


class JsonExecutionMetricsStore:
    """The dated files and the `execution_metrics.json` pointer in one directory."""

    def __init__(self, directory: str | Path) -> None:
        self._dir = Path(directory)

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def pointer_path(self) -> Path:
        return self._dir / POINTER_NAME

    def dates(self) -> list[dt.date]:
        if not self._dir.is_dir():
            return []
        out = []
        for p in self._dir.iterdir():
            m = _DATED_RE.match(p.name)
            if m and p.is_file():
                try:
                    out.append(dt.date.fromisoformat(m.group(1)))
                except ValueError:
                    continue
        return sorted(out)

    def path_for(self, date: dt.date) -> Path:
        return self._dir / dated_name(date)

    def save(self, model: ExecutionModel, *, make_current: bool = True) -> Path:
        """Write the model's dated file (atomically) and, by default, point the current file at it."""
        self._dir.mkdir(parents=True, exist_ok=True)
        path = self.path_for(model.as_of)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(model_to_json(model), indent=1, sort_keys=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        if make_current:
            self._point_at(path.name)
        return path

    def _point_at(self, name: str) -> None:
        ptr = self.pointer_path
        tmp = self._dir / (POINTER_NAME + ".tmp")
        if tmp.is_symlink() or tmp.exists():
            tmp.unlink()
        try:
            os.symlink(name, tmp)
        except (OSError, NotImplementedError):
            tmp.write_text(json.dumps({"pointer": name}) + "\n", encoding="utf-8")
        os.replace(tmp, ptr)

    def current_file(self) -> Path:
        """The dated file `execution_metrics.json` points at."""
        ptr = self.pointer_path
        if ptr.is_symlink():
            target = self._dir / os.readlink(ptr)
            if not target.is_file():
                raise MetricsFileError(f"{ptr} points at {target.name}, which does not exist; {self._hint()}")
            return target
        if not ptr.exists():
            raise MetricsNotFound(
                f"no execution metrics in {self._dir} ({POINTER_NAME} missing); run "
                "`trading-ai exec-metrics update --source ohlc` (or --source broker), or pass an explicit "
                "`--cost-model fixed --spread-bps X --slippage-bps Y`"
            )
        try:
            data = json.loads(ptr.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise MetricsFileError(f"{ptr}: unreadable ({e})") from None
        if isinstance(data, Mapping) and "pointer" in data and "profiles" not in data:
            name = str(data["pointer"])
            if not _DATED_RE.match(name):
                raise MetricsFileError(f"{ptr}: field pointer: not a dated metrics file name: {name!r}")
            target = self._dir / name
            if not target.is_file():
                raise MetricsFileError(f"{ptr} points at {name}, which does not exist; {self._hint()}")
            return target
        return ptr  # a plain copy of a model (e.g. written by hand)

    def _hint(self) -> str:
        dates = ", ".join(d.isoformat() for d in self.dates()) or "none"
        return f"dates available: {dates}; use `trading-ai exec-metrics rollback --to DATE`"

    def load_file(
        self, path: Path, *, required_pairs: Iterable[str] = (), latency_sla_ms: float = DEFAULT_LATENCY_SLA_MS
    ) -> ExecutionModel:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise MetricsNotFound(f"{path}: no such metrics file; {self._hint()}") from None
        except (OSError, ValueError) as e:
            raise MetricsFileError(f"{path}: not valid JSON ({e})") from None
        return model_from_json(data, path, required_pairs=required_pairs, latency_sla_ms=latency_sla_ms)

    def load_current(
        self, *, required_pairs: Iterable[str] = (), latency_sla_ms: float = DEFAULT_LATENCY_SLA_MS
    ) -> ExecutionModel:
        return self.load_file(self.current_file(), required_pairs=required_pairs, latency_sla_ms=latency_sla_ms)

    def rollback(self, date: dt.date, *, required_pairs: Iterable[str] = ()) -> Path:
        """Point the current file at an existing date's file, after validating it."""
        path = self.path_for(date)
        if not path.is_file():
            dates = ", ".join(d.isoformat() for d in self.dates()) or "none (run `exec-metrics update` first)"
            raise UnknownMetricsDate(
                f"no execution metrics for {date.isoformat()} in {self._dir}; dates that exist: {dates}"
            )
        self.load_file(path, required_pairs=required_pairs)
        self._point_at(path.name)
        return path


class JsonlQuoteLog:
    """Bid/ask snapshots appended one JSON object per line, so runs through the day accumulate."""

    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)

    @property
    def path(self) -> Path:
        return self._path

    def append(self, quotes: Iterable[QuoteSample]) -> int:
        lines = [json.dumps({"pair": q.pair, "at_ms": q.at_ms, "bid": q.bid, "ask": q.ask}) + "\n" for q in quotes]
        if lines:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            with self._path.open("a", encoding="utf-8") as f:
                f.writelines(lines)
        return len(lines)

    def read(self, since_ms: int = 0) -> list[QuoteSample]:
        if not self._path.is_file():
            return []
        out = []
        for n, line in enumerate(self._path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                q = QuoteSample(pair=d["pair"], at_ms=int(d["at_ms"]), bid=float(d["bid"]), ask=float(d["ask"]))
            except (ValueError, KeyError, TypeError, UserError) as e:
                raise MetricsFileError(f"{self._path}: line {n}: invalid quote record ({e})") from None
            if q.at_ms >= since_ms:
                out.append(q)
        return out
