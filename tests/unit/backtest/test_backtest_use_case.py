"""The `trading-ai backtest` use case in services.backtest: the plain run and the walk-forward assemble
summary.json from the engine's own results (per-period seeds, model records, the total), on the executor
the caller hands in. Synthetic random walks: mechanics only."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.backtest.engine import EngineConfig, EngineResult, PairData
from domain.confidence import ConfidenceParams, EnsembleWeights
from domain.execution_costs import CostModel, FixedCostModel
from domain.ftmo import FtmoRules
from services.backtest import (
    Period,
    backtest,
    build_summary,
    period_seed,
    run_batch,
    run_meta,
    run_walk_forward,
    split_periods,
    walk_forward,
    walk_forward_total,
)
from tests.unit.backtest.test_lifecycle_engine import _random_pairs

T0 = 1_735_689_600_000  # 2025-01-01 UTC
CFG = EngineConfig(
    confidence=ConfidenceParams(weights=EnsembleWeights({"momentum": 1.0})),
    horizon_bars=6,
    fee_bps=3.0,
    latency_ms=900.0,
    risk_pct=1.5,
    rules=FtmoRules.two_step(daily_buffer_pct=2.0, total_buffer_pct=4.0),
)
COSTS = FixedCostModel(5, 2)


def _pairs(seed: int) -> list[PairData]:  # SYNTHETIC random walks (test_lifecycle_engine's)
    return _random_pairs(seed, n=2400)


def _models(pairs: Sequence[PairData]) -> dict[str, Any]:
    return {"bars": [len(p.bars) for p in pairs]}


def test_the_plain_run_is_the_engine_on_the_run_seed_with_its_summary() -> None:
    pairs = _pairs(3)
    run = backtest(pairs, CFG, COSTS, 17, model="momentum", models=_models)
    ref, curves = build_summary(pairs, CFG, run_batch(pairs, CFG, COSTS, 17), COSTS, model="momentum")
    assert ref["trades"] > 0
    assert run.summary == {**ref, "models": {"bars": [2400, 2400]}, "seed": 17}
    assert run.curves == curves
    meta = run_meta(run, 1.5)
    assert meta["load_and_predict_seconds"] == 1.5 and meta["bars_per_second"] == run.bars / run.wall_seconds
    assert {"wall_seconds", "python", "finished_utc"} <= set(meta)


def test_walk_forward_runs_the_periods_on_the_given_executor_and_assembles_every_period() -> None:
    pairs = _pairs(4)
    calls: list[list[int]] = []

    def executor(periods: Sequence[Period], cfg: EngineConfig, costs: CostModel, seed: int) -> list[EngineResult]:
        calls.append([p.index for p in periods])
        return run_walk_forward(periods, cfg, costs, seed, workers=1)

    run = walk_forward(pairs, 3, CFG, COSTS, 11, model="momentum", models=_models, run_periods=executor)
    assert calls == [[0, 1, 2]]
    s = run.summary
    assert s["seed"] == 11 and s["models"] == {"bars": [2400, 2400]}
    assert s["walk_forward"]["periods"] == 3 and len(s["periods"]) == 3
    for k, (p, per) in enumerate(zip(split_periods(pairs, 3), s["periods"], strict=True)):
        res = run_batch(p.pairs, CFG, COSTS, period_seed(11, k))  # each period: a fresh account, its own seed
        ref, _ = build_summary(p.pairs, CFG, res, COSTS, model="momentum")
        assert per == {**ref, "index": k, "seed": period_seed(11, k), "models": _models(p.pairs)}
    assert run.total == walk_forward_total(s["periods"], CFG.rules.initial_balance)
    assert run.total["trades"] == sum(r.trades["pnl"].shape[0] for r in run.results) > 0
    assert run_meta(run, 0.0, workers=2)["workers"] == 2
    # the default executor is the service's own process pool path, with the same result
    again = walk_forward(pairs, 3, CFG, COSTS, 11, model="momentum", models=_models)
    assert again.summary == s
