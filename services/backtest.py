"""Backtest use cases.

- `run_batch`: the batch engine (domain.backtest.engine) over whole periods: the fast path.
- `replay_live`: the live scan-cycle service itself, driven bar by bar by a fake clock over replay
  market data with the simulated broker; what the batch engine is proven identical to.
- `run_walk_forward`: independent periods in parallel processes; each period's seed is derived
  from the run seed and the period index, so a parallel run equals a serial one.
- `backtest` / `walk_forward`: the `trading-ai backtest` use case: run the engine (one account, or
  one fresh account per period on the executor the caller hands in) and assemble summary.json's
  dict, the curves and run.json's figures; the caller writes the reports and prints.
"""

from __future__ import annotations

import datetime as dt
import platform
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from domain import policy as pol
from domain.backtest.engine import EngineConfig, EngineResult, PairData, Prepared, prepare, run, walk
from domain.errors import UserError
from domain.execution_costs import CostModel
from domain.market import session_end_ms
from domain.trading import SymbolSpec
from services.scan_cycle import CycleReport, ScanCycle


def period_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def run_batch(pairs: Sequence[PairData], cfg: EngineConfig, costs: CostModel, seed: int) -> EngineResult:
    return run(pairs, cfg, costs, np.random.default_rng(seed))


@attrs.frozen(eq=False)
class TradeSample:
    """The engine's trades over one block: net return (bps of notional, after costs and commission),
    R multiple and market cost (spread + slippage + latency penalty, bps) per trade."""

    bps: npt.NDArray[np.float64]
    r: npt.NDArray[np.float64]
    cost: npt.NDArray[np.float64]


def trade_sample(res: EngineResult, spec: SymbolSpec, rank: int = 0) -> TradeSample:
    """The trades of the run's pair `rank` as returns on their notional (what the research grid and
    the promotion gates grade)."""
    cols = ("volume", "entry_fill", "pnl", "r", "spread_bps", "slippage_bps", "latency_penalty_bps")
    mine = np.asarray(res.trades["pair"]) == rank
    tr = {k: np.asarray(res.trades[k], dtype=np.float64)[mine] for k in cols}
    notional = tr["volume"] * spec.contract_size * tr["entry_fill"]
    with np.errstate(divide="ignore", invalid="ignore"):
        bps = np.where(notional > 0, tr["pnl"] / notional * 1e4, np.nan)
    return TradeSample(bps, tr["r"], tr["spread_bps"] + tr["slippage_bps"] + tr["latency_penalty_bps"])


@attrs.frozen(eq=False)
class Period:
    index: int
    pairs: tuple[PairData, ...]


def split_periods(pairs: Sequence[PairData], n: int) -> list[Period]:
    """n consecutive spans of equal length (on bar boundaries) over the pairs' common time range; each
    pair's bars and probabilities are sliced, so a span keeps the predictions made with its history."""
    tf_ms = pairs[0].bars.timeframe.ms
    t0 = min(int(p.bars.ts[0]) for p in pairs)
    t1 = max(int(p.bars.ts[-1]) for p in pairs) + tf_ms
    bounds = [t0 + (t1 - t0) * k // n // tf_ms * tf_ms for k in range(n)] + [t1]
    out = []
    for k in range(n):
        spans = []
        for p in pairs:
            lo, hi = (int(np.searchsorted(p.bars.ts, t, side="left")) for t in (bounds[k], bounds[k + 1]))
            if hi - lo < 2:
                raise UserError(
                    f"walk-forward period {k + 1} of {n} has {hi - lo} {p.bars.timeframe} bars of "
                    f"{p.pair}; use fewer --periods or a longer backtest period"
                )
            fine = p.fine.between(bounds[k], bounds[k + 1]) if p.fine is not None else None
            spans.append(
                PairData(
                    p.pair,
                    p.bars.between(bounds[k], bounds[k + 1]),
                    {name: v[lo:hi] for name, v in p.probs.items()},
                    p.spec,
                    fine,
                )
            )
        out.append(Period(k, tuple(spans)))
    return out


def walk_forward_total(periods: Sequence[dict[str, Any]], initial: float) -> dict[str, Any]:
    """The periods together. Each ran on its own fresh account of `initial`, so P&L adds up and returns
    are per period (mean and compounded as if each period's result were carried into the next)."""
    trades = sum(int(s["trades"]) for s in periods)
    wins = sum(round((s["hit_rate"] or 0.0) * int(s["trades"])) for s in periods)
    blocks: dict[str, int] = {}
    for s in periods:
        for k, v in s["blocks_by_reason"].items():
            blocks[k] = blocks.get(k, 0) + int(v)
    compounded = float(np.prod([1 + s["return_pct"] / 100 for s in periods]) - 1) * 100
    return {
        "periods": len(periods),
        "bars": sum(int(s["bars"]) for s in periods),
        "candidates": sum(int(s["candidates"]) for s in periods),
        "trades": trades,
        "pnl": sum(s["final_balance"] - initial for s in periods),
        "mean_return_pct": float(np.mean([s["return_pct"] for s in periods])),
        "compounded_return_pct": compounded,
        "profitable_periods": sum(1 for s in periods if s["final_balance"] > initial),
        "worst_max_drawdown_pct": max(s["max_drawdown_pct"] for s in periods),
        "hit_rate": wins / trades if trades else None,
        "breach_episodes": sum(int(s["breach_episodes"]) for s in periods),
        "ftmo_breach_episodes": sum(int(s["ftmo_breach_episodes"]) for s in periods),
        "breach_halt_days": sum(int(s["breach_halt_days"]) for s in periods),
        "blocks_by_reason": dict(sorted(blocks.items())),
    }


def walk_forward_summary(
    per: Sequence[dict[str, Any]],
    n_pairs: int,
    initial: float,
    model: str,
    models: dict[str, Any],
    costs: str,
    seed: int,
) -> dict[str, Any]:
    """summary.json of a walk-forward: every period's summary (`per`, in order) and their total."""
    n = len(per)
    total = walk_forward_total(per, initial)
    first = per[0]
    return {
        "headline": f"walk-forward, {n} periods: {n_pairs} pairs, {total['bars']} bars, {total['trades']} "
        f"trades, model {model}, costs: {costs}",
        "walk_forward": {
            "periods": n,
            "period_seed": "SeedSequence([seed, index])",
            "accounts": "one fresh account per period",
        },
        "model": model,
        "models": models,
        "cost_model": first["cost_model"],
        "pairs": first["pairs"],
        "timeframe": first["timeframe"],
        "period": {"start_ms": first["period"]["start_ms"], "end_ms": per[-1]["period"]["end_ms"]},
        "seed": seed,
        "settings": first["settings"],
        "total": total,
        "periods": list(per),
    }


def run_prepared(prep: Prepared, seed: int, index: int) -> EngineResult:
    """Walk-forward period `index` on its own account, its generator seeded from (seed, index)."""
    return walk(prep, np.random.default_rng(period_seed(seed, index)), prep.cfg.rules.initial_balance)


def _run_period(args: tuple[Period, EngineConfig, CostModel, int]) -> tuple[int, EngineResult]:
    p, cfg, costs, seed = args
    return p.index, run_prepared(prepare(p.pairs, cfg, costs), seed, p.index)


def run_walk_forward(
    periods: Sequence[Period], cfg: EngineConfig, costs: CostModel, seed: int, workers: int = 1
) -> list[EngineResult]:
    """Run each period on its own account; results in period order, identical for any `workers`."""
    jobs = [(p, cfg, costs, seed) for p in periods]
    if workers <= 1 or len(jobs) <= 1:
        done = [_run_period(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(_run_period, jobs))
    return [r for _, r in sorted(done, key=lambda x: x[0])]


# ---------------------------------------------------------------------------------- the use case

# Runs a walk-forward's periods: (periods, cfg, costs, seed) -> one result per period, in order
# (run_walk_forward in processes, or composition.tuning.executors on Ray).
RunPeriods = Callable[[Sequence[Period], EngineConfig, CostModel, int], Sequence[EngineResult]]
# The summary's "models" record for the given bars (composition.model_choice.ModelChoice.info).
ModelsInfo = Callable[[Sequence[PairData]], dict[str, Any]]


def _no_models(_pairs: Sequence[PairData]) -> dict[str, Any]:
    return {}


@attrs.frozen(eq=False)
class BacktestRun:
    """One period on one account: summary.json's dict, the report's curves, the engine result and the
    engine's wall seconds."""

    summary: dict[str, Any]
    curves: dict[str, Any]
    result: EngineResult
    wall_seconds: float

    @property
    def bars(self) -> int:
        return int(self.summary["bars"])


@attrs.frozen(eq=False)
class WalkForwardRun:
    """A walk-forward: summary.json's dict (every period's summary and their total) and, per period,
    its bars, engine result and curves; the engine's wall seconds over all periods."""

    summary: dict[str, Any]
    periods: tuple[Period, ...]
    results: tuple[EngineResult, ...]
    curves: tuple[dict[str, Any], ...]
    wall_seconds: float

    @property
    def bars(self) -> int:
        return int(self.summary["total"]["bars"])

    @property
    def total(self) -> dict[str, Any]:
        return dict(self.summary["total"])


def backtest(
    pairs: Sequence[PairData],
    cfg: EngineConfig,
    costs: CostModel,
    seed: int,
    *,
    model: str,
    models: ModelsInfo = _no_models,
) -> BacktestRun:
    """The plain backtest: the engine over the whole period on one account, and its summary."""
    t = time.perf_counter()
    res = run_batch(pairs, cfg, costs, seed)
    wall = time.perf_counter() - t
    summary, curves = build_summary(pairs, cfg, res, costs, model=model)
    summary["models"] = models(pairs)
    summary["seed"] = seed
    return BacktestRun(summary, curves, res, wall)


def walk_forward(
    pairs: Sequence[PairData],
    n: int,
    cfg: EngineConfig,
    costs: CostModel,
    seed: int,
    *,
    model: str,
    models: ModelsInfo = _no_models,
    run_periods: RunPeriods = run_walk_forward,
) -> WalkForwardRun:
    """The walk-forward: the period split into `n` spans (split_periods), each on its own fresh account
    with its own seed (period_seed) run by `run_periods`, every span's summary and their total."""
    periods = split_periods(pairs, n)
    t = time.perf_counter()
    results = list(run_periods(periods, cfg, costs, seed))
    wall = time.perf_counter() - t
    per: list[dict[str, Any]] = []
    curves = []
    for p, res in zip(periods, results, strict=True):
        s, c = build_summary(p.pairs, cfg, res, costs, model=model)
        s["index"] = p.index
        s["seed"] = period_seed(seed, p.index)
        s["models"] = models(p.pairs)
        per.append(s)
        curves.append(c)
    summary = walk_forward_summary(
        per, len(pairs), cfg.rules.initial_balance, model, models(pairs), costs.description, seed
    )
    return WalkForwardRun(summary, tuple(periods), tuple(results), tuple(curves), wall)


def run_meta(run: BacktestRun | WalkForwardRun, load_and_predict_seconds: float, **extra: Any) -> dict[str, Any]:
    """run.json: what changes between runs of the same inputs (wall times, speed, host, finish time)."""
    wall = run.wall_seconds
    return {
        **extra,
        "wall_seconds": wall,
        "bars_per_second": run.bars / wall if wall > 0 else None,
        "load_and_predict_seconds": load_and_predict_seconds,
        "python": platform.python_version(),
        "finished_utc": dt.datetime.now(dt.UTC).isoformat(),
    }


def replay_live(
    scan: ScanCycle,
    set_clock: Callable[[int], None],
    take_closed: Callable[[], list[tuple[int, str, float]]],
    scan_times: Sequence[int],
) -> list[CycleReport]:
    """Run the live scan cycle at each of `scan_times`; closed losing trades feed the loss backoff
    first (as the live outcome tracker does), in exit order."""
    reports = []
    desk = scan.desk
    for t in scan_times:
        set_clock(int(t))
        for exit_at, _pid, pnl in take_closed():
            if pnl < 0:
                desk.set_policy(pol.record_loss(desk.policy_cfg, desk.policy, exit_at, session_end_ms(exit_at)))
        reports.append(scan.run_once())
    return reports


# ---------------------------------------------------------------------------------- summary


def build_summary(
    pairs: Sequence[PairData],
    cfg: EngineConfig,
    res: EngineResult,
    costs: CostModel,
    *,
    model: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(summary, curves): every figure of the report, from the engine result and the bars."""
    from domain import evaluation as ev
    from domain import performance as perf
    from domain.backtest.engine import REASON_OF_CODE
    from domain.signals import Tier

    tr = res.trades
    initial = cfg.rules.initial_balance
    t0 = int(min(int(p.bars.ts[0]) for p in pairs))
    t1 = int(max(int(p.bars.ts[-1]) + p.bars.timeframe.ms for p in pairs))
    curve = perf.equity_curve(initial, t0, tr["exit_ms"], tr["pnl"])  # type: ignore[arg-type]
    dd = perf.drawdown(curve)
    won = np.asarray(tr["pnl"]) > 0
    rdist = perf.r_distribution(tr["r"])  # type: ignore[arg-type]
    # model quality over every bar with a prediction: did price rise over the horizon?
    ys, ps = [], []
    for p, s in zip(pairs, res.stage1, strict=True):
        c = p.bars.close
        h = cfg.horizon_bars
        ok = ~np.isnan(s.prob_up[: len(c) - h])
        ys.append((c[h:] > c[:-h])[ok].astype(np.float64))
        ps.append(s.prob_up[: len(c) - h][ok])
    y = np.concatenate(ys) if ys else np.zeros(0)
    pp = np.concatenate(ps) if ps else np.zeros(0)
    rel = ev.reliability_curve(y, pp) if y.shape[0] else None
    tiers = ev.tier_stats(y, pp, cfg.thresholds) if y.shape[0] else ()
    # naive baselines over the same period and the same holding periods, latency-adjusted costs
    bh = {p.pair: perf.buy_and_hold_pct(float(p.bars.open[0]), float(p.bars.close[-1])) for p in pairs}
    one_way = np.asarray(tr["spread_bps"]) / 2 + np.asarray(tr["slippage_bps"]) + np.asarray(tr["latency_penalty_bps"])
    ours_bps = perf.net_return_bps(tr["sign"], tr["entry_fill"], tr["exit_fill"], cfg.fee_bps)  # type: ignore[arg-type]
    pers = np.zeros(0)
    for r, p in enumerate(pairs):
        sel = np.asarray(tr["pair"]) == r
        if not bool(sel.any()):
            continue
        bars_i = np.asarray(tr["bar"])[sel]
        sign = perf.persistence_sign(p.bars.close, bars_i)
        exit_px = p.bars.close[np.asarray(tr["exit_bar"])[sel]]
        pers = np.concatenate(
            (pers, perf.same_trades_return_bps(sign, p.bars.open[bars_i + 1], exit_px, one_way[sel], cfg.fee_bps))
        )
    reasons: dict[str, int] = {}
    for code in np.asarray(res.blocks["reason"]).tolist():
        k = REASON_OF_CODE[int(code)].value
        reasons[k] = reasons.get(k, 0) + 1
    from domain.backtest.engine import BLOCK_CODES
    from domain.signals import BlockReason

    for s in res.stage1:
        for code in (BlockReason.NO_PREDICTION, BlockReason.HYSTERESIS, BlockReason.SENTIMENT):
            reasons[code.value] = reasons.get(code.value, 0) + int((s.outcome == BLOCK_CODES[code]).sum())
    bars_total = int(sum(len(p.bars) for p in pairs))
    final = res.final_balance
    summary: dict[str, Any] = {
        "headline": f"{len(pairs)} pairs, {bars_total} bars, {tr['pnl'].shape[0]} trades, model {model}, "
        f"costs: {costs.description}",
        "model": model,
        "cost_model": {"kind": costs.kind, "description": costs.description},
        "pairs": [p.pair for p in pairs],
        "timeframe": pairs[0].bars.timeframe.value if pairs else "",
        "period": {"start_ms": t0, "end_ms": t1},
        "bars": bars_total,
        "candidates": int(sum(s.cand.shape[0] for s in res.stage1)),
        "signals": int(tr["pnl"].shape[0]),
        "signals_by_pair": {p.pair: int((np.asarray(res.signals["pair"]) == r).sum()) for r, p in enumerate(pairs)},
        "blocks_by_reason": dict(sorted(reasons.items())),
        "trades": int(tr["pnl"].shape[0]),
        "initial_balance": initial,
        "final_balance": final,
        "return_pct": (final / initial - 1) * 100,
        "max_drawdown_pct": dd.max_pct,
        "avg_drawdown_pct": dd.avg_pct,
        "max_drawdown_duration_h": dd.max_duration_ms / 3_600_000,
        "exposure": perf.exposure(tr["entry_ms"], tr["exit_ms"], t0, t1),  # type: ignore[arg-type]
        "r_distribution": attrs.asdict(rdist),
        "hit_rate": float(won.mean()) if won.shape[0] else None,
        "hit_rate_by_session": {
            k: {"hit_rate": v[0], "trades": v[1]}
            for k, v in perf.hit_rate_by_session(tr["entry_ms"], won).items()  # type: ignore[arg-type]
        },
        "hit_rate_by_tier": {
            k: {"hit_rate": v[0], "trades": v[1]}
            for k, v in perf.hit_rate_by_group(
                tr["tier"],  # type: ignore[arg-type]
                won,
                {int(t): t.name for t in Tier if t is not Tier.NONE},
            ).items()
        },
        "latency": {
            "decision_latency_ms": cfg.latency_ms,
            "penalised_trades": int((np.asarray(tr["latency_penalty_bps"]) > 0).sum()),
            "mean_penalty_bps": float(np.mean(np.asarray(tr["latency_penalty_bps"], dtype=np.float64)))
            if tr["pnl"].shape[0]
            else 0.0,
        },
        "pnl_vs_baselines_bps_per_trade": {
            "strategy_latency_adjusted": float(ours_bps.mean()) if ours_bps.shape[0] else None,
            "persistence_same_trades": float(pers.mean()) if pers.shape[0] else None,
        },
        "buy_and_hold_pct": bh,
        "model_quality": {
            "bars_scored": int(y.shape[0]),
            "accuracy": ev.accuracy(y, pp) if y.shape[0] else None,
            "brier": ev.brier(y, pp) if y.shape[0] else None,
            "ece": ev.expected_calibration_error(y, pp) if y.shape[0] else None,
            "tiers": [
                {
                    "tier": t.tier.name,
                    "count": t.count,
                    "precision": t.precision,
                    "recall": t.recall,
                    "mean_confidence": t.mean_confidence,
                }
                for t in tiers
            ],
        },
        # distinct floor crossings (not the daily re-latches of one halt: those are breach_halt_days)
        "breach_episodes": res.breach_episodes,
        "ftmo_breach_episodes": res.ftmo_breach_episodes,
        "breach_halt_days": res.breach_halt_days,
        "settings": {
            "horizon_bars": cfg.horizon_bars,
            "fee_bps_per_side": cfg.fee_bps,
            "risk_pct": cfg.risk_pct,
            "sl_atr_mult": cfg.sl_atr_mult,
            "reward_risk": cfg.reward_risk,
            "hysteresis_scans": cfg.hysteresis_scans,
            "challenge": cfg.rules.kind.value,
        },
    }
    ddp = perf.drawdown_series(curve.balance)
    curves = {
        "equity": {"t": curve.at_ms.tolist(), "balance": curve.balance.tolist()},
        "drawdown": {"t": curve.at_ms.tolist(), "pct": ddp.tolist()},
        "calibration": {
            "predicted": rel.mean_predicted.tolist() if rel else [],
            "observed": rel.observed.tolist() if rel else [],
        },
    }
    return summary, curves
