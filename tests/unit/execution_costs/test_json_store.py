"""JSON store round trip, pointer handling, rollback and bad-file rejection (synthetic models)."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from adapters.execution_metrics.cost_model import CostModelRefused, load_cost_model
from adapters.execution_metrics.json_store import (
    JsonExecutionMetricsStore,
    JsonlQuoteLog,
    MetricsFileError,
    MetricsNotFound,
    UnknownMetricsDate,
)
from domain.errors import UserError
from domain.execution_costs import (
    N_QUANTILES,
    Distribution,
    ExecutionModel,
    ExecutionProfile,
    FixedCostModel,
    QuoteSample,
)
from domain.market import Session

PAIRS = ("BTC/USDT", "ETH/USDT")


def model(day: int, scale: float = 1.0) -> ExecutionModel:
    q = np.linspace(0.5, 9.5, N_QUANTILES) * scale
    d = Distribution(mean=float(q.mean()), quantiles=q, count=42)
    profiles = [ExecutionProfile(p, s, d, d, "test", {"cs": 1.5}) for p in PAIRS for s in Session]
    return ExecutionModel(profiles, source="test-source", as_of=dt.date(2025, 1, day), metadata={"k": "v"})


def test_round_trip_and_pointer(tmp_path: Path) -> None:
    store = JsonExecutionMetricsStore(tmp_path)
    p = store.save(model(2))
    assert p.name == "execution_metrics_2025-01-02.json"
    assert store.pointer_path.is_symlink()
    loaded = store.load_current(required_pairs=PAIRS, latency_sla_ms=750)
    assert loaded.as_of == dt.date(2025, 1, 2) and loaded.source == "test-source"
    assert loaded.latency_sla_ms == 750
    assert loaded.profile("ETH/USDT", Session.LONDON) == model(2).profile("ETH/USDT", Session.LONDON)
    raw = json.loads(p.read_text())
    assert raw["schema_version"] == 1
    assert raw["profiles"]["BTC/USDT"]["tokyo"]["spread_bps"]["count"] == 42
    assert raw["profiles"]["BTC/USDT"]["tokyo"]["spread_bps"]["p90"] == pytest.approx(0.5 + 9 * 0.9)


def test_pointer_file_where_symlinks_fail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_symlink(*a: object, **k: object) -> None:
        raise OSError("symlinks not supported here")

    monkeypatch.setattr(os, "symlink", no_symlink)
    store = JsonExecutionMetricsStore(tmp_path)
    store.save(model(2))
    store.save(model(3, 2.0))
    assert not store.pointer_path.is_symlink()
    assert json.loads(store.pointer_path.read_text()) == {"pointer": "execution_metrics_2025-01-03.json"}
    assert store.load_current().as_of == dt.date(2025, 1, 3)
    store.rollback(dt.date(2025, 1, 2))
    assert store.load_current().as_of == dt.date(2025, 1, 2)


def test_rollback_and_missing_date(tmp_path: Path) -> None:
    store = JsonExecutionMetricsStore(tmp_path)
    store.save(model(2))
    store.save(model(5, 3.0))
    assert store.dates() == [dt.date(2025, 1, 2), dt.date(2025, 1, 5)]
    assert store.load_current().as_of == dt.date(2025, 1, 5)
    store.rollback(dt.date(2025, 1, 2))
    assert store.load_current().as_of == dt.date(2025, 1, 2)
    with pytest.raises(UnknownMetricsDate, match="dates that exist: 2025-01-02, 2025-01-05"):
        store.rollback(dt.date(2025, 1, 3))


def test_missing_store(tmp_path: Path) -> None:
    with pytest.raises(MetricsNotFound, match="exec-metrics update"):
        JsonExecutionMetricsStore(tmp_path / "nothing").load_current()


def _write_bad(tmp_path: Path, mutate: object) -> Path:
    store = JsonExecutionMetricsStore(tmp_path)
    path = store.save(model(2))
    data = json.loads(path.read_text())
    mutate(data)  # type: ignore[operator]
    path.write_text(json.dumps(data))
    return path


def test_rejects_unknown_schema(tmp_path: Path) -> None:
    path = _write_bad(tmp_path, lambda d: d.update(schema_version=2))
    with pytest.raises(MetricsFileError, match=rf"{path.name}: field schema_version: unknown schema version 2"):
        JsonExecutionMetricsStore(tmp_path).load_current()


def test_rejects_missing_session(tmp_path: Path) -> None:
    path = _write_bad(tmp_path, lambda d: d["profiles"]["ETH/USDT"].pop("london"))
    with pytest.raises(MetricsFileError, match=rf"{path.name}: field profiles.ETH/USDT.london: missing"):
        JsonExecutionMetricsStore(tmp_path).load_current()


def test_rejects_missing_required_pair(tmp_path: Path) -> None:
    _write_bad(tmp_path, lambda d: d["profiles"].pop("ETH/USDT"))
    store = JsonExecutionMetricsStore(tmp_path)
    assert store.load_current().pairs == ("BTC/USDT",)  # fine when nobody needs ETH
    with pytest.raises(MetricsFileError, match=r"field profiles.ETH/USDT: missing"):
        store.load_current(required_pairs=["BTC/USDT", "ETH/USDT"])


def test_rejects_negative_spread(tmp_path: Path) -> None:
    def neg(d: dict) -> None:  # type: ignore[type-arg]
        d["profiles"]["BTC/USDT"]["new_york"]["spread_bps"]["quantiles"][0] = -0.1

    path = _write_bad(tmp_path, neg)
    with pytest.raises(
        MetricsFileError,
        match=rf"{path.name}: field profiles.BTC/USDT.new_york.spread_bps.quantiles\[0\]: negative cost",
    ):
        JsonExecutionMetricsStore(tmp_path).load_current()


def test_rejects_garbage(tmp_path: Path) -> None:
    store = JsonExecutionMetricsStore(tmp_path)
    path = store.save(model(2))
    path.write_text("{not json")
    with pytest.raises(MetricsFileError, match="not valid JSON"):
        store.load_current()
    with pytest.raises(UnknownMetricsDate):
        store.rollback(dt.date(2024, 1, 1))


def _config(tmp_path: Path) -> SimpleNamespace:
    return SimpleNamespace(
        data=SimpleNamespace(store_dir=str(tmp_path), symbols=PAIRS),
        runtime=SimpleNamespace(latency_sla_ms=300),
    )


def test_load_cost_model_refuses_without_file(tmp_path: Path) -> None:
    cfg = _config(tmp_path)
    with pytest.raises(CostModelRefused, match="--cost-model fixed --spread-bps X --slippage-bps Y"):
        load_cost_model(cfg)
    fixed = load_cost_model(cfg, "fixed", spread_bps=12, slippage_bps=3)
    assert isinstance(fixed, FixedCostModel) and fixed.latency_sla_ms == 300
    with pytest.raises(UserError, match="needs both"):
        load_cost_model(cfg, "fixed", spread_bps=12)
    with pytest.raises(UserError, match="only apply"):
        load_cost_model(cfg, "empirical", spread_bps=12)
    with pytest.raises(UserError, match="unknown cost model"):
        load_cost_model(cfg, "magic")
    JsonExecutionMetricsStore(tmp_path).save(model(2))
    emp = load_cost_model(cfg)
    assert isinstance(emp, ExecutionModel) and emp.latency_sla_ms == 300 and emp.kind == "empirical"


def test_quote_log(tmp_path: Path) -> None:
    log = JsonlQuoteLog(tmp_path / "q.jsonl")
    assert log.read() == []
    log.append([QuoteSample("BTC/USDT", 1000, 100.0, 100.1), QuoteSample("ETH/USDT", 2000, 10.0, 10.0)])
    log.append([QuoteSample("BTC/USDT", 3000, 100.0, 100.2)])
    assert [q.at_ms for q in log.read()] == [1000, 2000, 3000]
    assert [q.at_ms for q in log.read(since_ms=2000)] == [2000, 3000]
    with log.path.open("a") as f:
        f.write('{"pair": "BTC/USDT", "at_ms": 1, "bid": 5, "ask": 4}\n')
    with pytest.raises(MetricsFileError, match="line 4"):
        log.read()
