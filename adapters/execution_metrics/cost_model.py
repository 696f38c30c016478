"""`load_cost_model`: the one way the backtest, the paper broker and the runtime get their costs.

Empirical (default): the current execution-metrics file of config data.store_dir, validated for
every pair of config data.symbols, with the SLA of config runtime.latency_sla_ms. No file and no
explicit fixed cost is a refusal (UserError saying how to fix it), never a silent default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from adapters.execution_metrics.json_store import JsonExecutionMetricsStore, MetricsNotFound
from domain.errors import UserError
from domain.execution_costs import ExecutionModel, FixedCostModel

COST_MODELS = ("empirical", "fixed")


class CostModelRefused(UserError):
    """No measured costs are available and no explicit fixed cost was given."""


def metrics_store(config: Any) -> JsonExecutionMetricsStore:
    return JsonExecutionMetricsStore(Path(config.data.store_dir))


def load_cost_model(
    config: Any,
    cost_model: str = "empirical",
    spread_bps: float | None = None,
    slippage_bps: float | None = None,
) -> ExecutionModel | FixedCostModel:
    """`config` is the application Config (data.store_dir, data.symbols, runtime.latency_sla_ms)."""
    sla = float(config.runtime.latency_sla_ms)
    if cost_model == "fixed":
        if spread_bps is None or slippage_bps is None:
            raise UserError("--cost-model fixed needs both --spread-bps X and --slippage-bps Y")
        return FixedCostModel(spread_bps=float(spread_bps), slippage_bps=float(slippage_bps), latency_sla_ms=sla)
    if cost_model != "empirical":
        raise UserError(f"unknown cost model {cost_model!r}; valid: {', '.join(COST_MODELS)}")
    if spread_bps is not None or slippage_bps is not None:
        raise UserError("--spread-bps/--slippage-bps only apply with --cost-model fixed")
    store = metrics_store(config)
    try:
        return store.load_current(required_pairs=config.data.symbols, latency_sla_ms=sla)
    except MetricsNotFound as e:
        raise CostModelRefused(f"refusing to run without measured execution costs: {e}") from None
