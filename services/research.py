"""Use case `trading-ai research`: an honest search for an edge over a grid of
coin x timeframe x horizon x label x model, corrected for the number of cells tried.

Per job (one coin, timeframe and horizon; jobs run on a process pool):
1. features: the product's `domain.features.compute_features`, plus BTC's cross-asset columns
   (`domain.cross_asset`) for the other coins; the leakage guard runs on the whole feature function,
   perturbing the coin and (in turn) the leader;
2. labels (`domain.labels`): direction, triple barrier from the kernel's own stop/target with the
   horizon as time exit, and meta (does the product's momentum baseline's trade net more than its
   costs);
3. purged walk-forward folds with an embargo (`domain.splits.purged_walk_forward`);
4. each model predicts each fold's test block; accuracy, AUC and tier precision/coverage on the
   label, and the TRADES: the fold's test block with those probabilities runs through the product's
   batch engine (`services.backtest.run_batch`: the same tiers, hysteresis, policy, FTMO guard,
   sizing, stop/target/time exit and execution costs + commission as every backtest), each fold on
   a fresh account. Expectancy is the mean net return per trade in bps of notional.
Across the grid, `domain.multiple_testing`: one-sided p-values of every cell's expectancy through
Benjamini-Hochberg, FCR-corrected lower bounds and the trade gate. Nothing is promoted.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from domain import evaluation as ev
from domain import labels as lb
from domain.backtest.baseline import MomentumSignPredictor
from domain.backtest.engine import EngineConfig, PairData
from domain.cross_asset import CrossAssetParams, cross_asset_features, with_columns
from domain.execution_costs import SESSION_ORDER, CostModel, UnknownCostCell, cost_session_codes
from domain.feature_matrix import FeatureMatrix
from domain.features import FeatureParams, compute_features, warmup_bars
from domain.leakage import check_leakage, default_cuts
from domain.market import Candles, Timeframe
from domain.multiple_testing import (
    MeanTest,
    auc_se,
    benjamini_hochberg,
    corrected_lower_bound,
    mean_test,
    trade_gate,
)
from domain.normalisation import Standardiser
from domain.signals import Tier
from domain.splits import purged_walk_forward
from domain.trading import SymbolSpec
from services.backtest import TradeSample, run_batch, trade_sample

FloatArray = npt.NDArray[np.float64]
PROBS_KEY = "research"  # the model name the engine's ensemble sees (composition builds its weights for it)
MOMENTUM = "momentum"  # the product's no-model baseline predictor: not fitted
BASELINES = ("majority", "persistence", MOMENTUM)


@attrs.frozen(eq=False)
class FitData:
    """One fold's samples for a fitted model: standardised last-bar features, labels, 1-bar returns."""

    x_train: FloatArray
    y_train: FloatArray
    x_val: FloatArray
    y_val: FloatArray
    x_test: FloatArray
    last_train: FloatArray
    last_val: FloatArray
    last_test: FloatArray
    seed: int


ModelFn = Callable[[FitData], tuple[FloatArray, FloatArray]]


@attrs.frozen
class GridSpec:
    name: str = "default"
    symbols: tuple[str, ...] = ("BTC/USDT", "ETH/USDT", "BNB/USDT")
    # (timeframe, horizons in minutes): 5m for the short horizons, the 5-year 1h candles for the long
    plan: tuple[tuple[str, tuple[int, ...]], ...] = (("5m", (15, 60, 240)), ("1h", (60, 240, 1440)))
    labels: tuple[str, ...] = lb.LABEL_KINDS
    models: tuple[str, ...] = ("majority", "persistence", MOMENTUM, "logistic", "lightgbm")
    n_folds: int = 4
    test_share: float = 0.5
    val_share: float = 0.1
    embargo_share: float = 0.01  # bars dropped before each block beyond the purge, as a share of the series
    max_bars: tuple[tuple[str, int], ...] = ()  # per timeframe: only the most recent bars (0 / absent = all)
    leader: str = "BTC/USDT"
    min_trades: int = 100  # the plan's 100+ trades, as the training gates
    min_precision: float = 0.68  # the plan's accuracy gate (precision of tier >= LOW calls), kept beside
    q: float = 0.05  # BH false discovery rate and the FCR level of the corrected bounds
    leakage_bars: int = 5000
    leakage_cuts: int = 2
    seed: int = 42

    def bars_for(self, timeframe: str) -> int:
        return dict(self.max_bars).get(timeframe, 0)

    def cells(self) -> int:
        return len(self.symbols) * sum(len(h) for _, h in self.plan) * len(self.labels) * len(self.models)


QUICK = GridSpec(
    name="quick",
    symbols=("BTC/USDT", "ETH/USDT"),
    plan=(("5m", (15, 60)), ("1h", (240, 1440))),
    n_folds=2,
    max_bars=(("5m", 30_000), ("1h", 20_000)),
    leakage_bars=3000,
)


@attrs.frozen(eq=False)
class Job:
    symbol: str
    timeframe: Timeframe
    horizon_minutes: int
    candles: Candles
    leader: Candles | None
    spec: GridSpec
    engine: EngineConfig
    costs: CostModel
    symbol_spec: SymbolSpec
    models: tuple[tuple[str, ModelFn | None], ...]  # None: the momentum baseline
    features: FeatureParams = FeatureParams()


@attrs.frozen
class Cell:
    """One grid cell's out-of-sample figures over all its test folds (before the grid correction)."""

    symbol: str
    timeframe: str
    horizon_minutes: int
    horizon_bars: int
    label: str
    model: str
    n_test: int
    up_share: float
    accuracy: float
    accuracy_ci: tuple[float, float]
    auc: float
    auc_ci: tuple[float, float]
    fold_accuracy: tuple[float, ...]
    tiers: tuple[tuple[str, int, float, float], ...]  # (tier, count, precision, coverage)
    emitted_count: int
    emitted_precision: float
    emitted_coverage: float
    trades: int
    expectancy: MeanTest  # net bps per trade, through the engine
    mean_r: float
    win_rate: float
    fold_expectancy: tuple[float, ...]
    cost_bps: float  # mean spread + slippage of the trades (bps), commission excluded
    leakage_ok: bool
    leakage_detail: str
    features: int
    span: tuple[int, int]  # first and last test bar (ms)

    def key(self) -> str:
        return f"{self.symbol} {self.timeframe} {horizon_text(self.horizon_minutes)} {self.label} {self.model}"


def horizon_text(minutes: int) -> str:
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


# ------------------------------------------------------------------------------------------ one job


def feature_matrix(c: Candles, leader: Candles | None, params: FeatureParams) -> FeatureMatrix:
    m = compute_features(c, params)
    if leader is not None:
        m = with_columns(m, cross_asset_features(c, leader, CrossAssetParams()))
    return m


def _leakage(job: Job, c: Candles, leader: Candles | None) -> tuple[bool, str]:
    rng = np.random.default_rng([job.spec.seed, 7])
    tail = c.tail(job.spec.leakage_bars)
    lt = None if leader is None else leader.between(int(tail.ts[0]), None)
    margin = min(warmup_bars(job.features, c.timeframe) + CrossAssetParams().warmup_bars(), len(tail) // 2)
    cuts = default_cuts(len(tail), job.spec.leakage_cuts, rng, margin=margin)
    rep = check_leakage(lambda cc: feature_matrix(cc, lt, job.features), tail, cuts, rng)
    leaky = list(rep.leaky)
    if lt is not None and len(lt) > 2:
        lcuts = [int(np.searchsorted(lt.ts, tail.ts[k])) for k in cuts]
        lcuts = [k for k in lcuts if 0 <= k < len(lt) - 1]
        rep2 = check_leakage(lambda ll: feature_matrix(tail, ll, job.features), lt, lcuts, rng)
        leaky += [f"{n} (leader)" for n in rep2.leaky]
    if leaky:
        return False, f"features change when later bars change: {', '.join(leaky[:6])}"
    return True, f"guard passed at {len(cuts)} cuts ({len(rep.verdicts)} features, leader perturbed too)"


def _last_return(c: Candles) -> FloatArray:
    r = np.full(len(c), np.nan)
    if len(c) > 1:
        r[1:] = c.close[1:] / c.close[:-1] - 1.0
        r[1:][np.diff(c.ts) != c.timeframe.ms] = np.nan
    return r


def _round_trip_bps(costs: CostModel, pair: str, ts: npt.NDArray[np.int64], fee_bps: float) -> FloatArray:
    """Expected spread + slippage of the session at each bar, plus commission of both sides."""
    per = []
    for s in SESSION_ORDER:
        try:
            per.append(costs.expected_round_trip_cost_bps(pair, s))
        except UnknownCostCell:
            per.append(float("nan"))
    table = np.asarray(per, dtype=np.float64)
    fallback = float(np.nanmean(table)) if np.isfinite(table).any() else 10.0
    table = np.where(np.isfinite(table), table, fallback)
    return table[cost_session_codes(ts)] + 2.0 * fee_bps


def engine_trades(
    symbol: str,
    c: Candles,
    prob: FloatArray,
    t0: int,
    t1: int,
    cfg: EngineConfig,
    costs: CostModel,
    spec: SymbolSpec,
    seed: int,
) -> TradeSample:
    """Rows t0..t1-1 of `c` with up-probabilities `prob` (NaN = no prediction) through the product's
    batch engine (services.backtest.run_batch) on a fresh account; the engine's look-back window
    before t0 gets no predictions. `cfg` must weight the model name `PROBS_KEY`."""
    start = max(0, t0 - cfg.lookback_bars)
    bars = _slice(c, start, t1)
    p = np.full(t1 - start, np.nan)
    p[t0 - start :] = prob[t0:t1]
    return trade_sample(run_batch([PairData(symbol, bars, {PROBS_KEY: p}, spec)], cfg, costs, seed), spec)


def _engine_trades(
    job: Job, c: Candles, prob: FloatArray, t0: int, t1: int, h: int, fold: int
) -> tuple[FloatArray, FloatArray, FloatArray]:
    cfg = attrs.evolve(job.engine, horizon_bars=h)
    seed = int(np.random.SeedSequence([job.spec.seed, fold]).generate_state(1)[0])
    t = engine_trades(job.symbol, c, prob, t0, t1, cfg, job.costs, job.symbol_spec, seed)
    return t.bps, t.r, t.cost


def _slice(c: Candles, a: int, b: int) -> Candles:
    return Candles(c.symbol, c.timeframe, c.ts[a:b], c.open[a:b], c.high[a:b], c.low[a:b], c.close[a:b], c.volume[a:b])


def _acc_ci(ok: FloatArray, lags: int) -> tuple[float, float]:
    if ok.shape[0] < 2:
        return (float("nan"), float("nan"))
    se = ev.newey_west_se(ok, lags)
    m = float(ok.mean())
    return (m - 1.96 * se, m + 1.96 * se)


def run_job(job: Job) -> list[Cell]:
    """Every label x model cell of one coin, timeframe and horizon."""
    spec = job.spec
    c = job.candles
    if spec.bars_for(job.timeframe.value) and len(c) > spec.bars_for(job.timeframe.value):
        c = c.tail(spec.bars_for(job.timeframe.value))
    leader = job.leader
    h = max(1, job.horizon_minutes // job.timeframe.minutes)
    m = feature_matrix(c, leader, job.features)
    keep = ~np.all(np.isnan(m.values), axis=0)
    values = m.values[:, keep]
    leak_ok, leak_detail = _leakage(job, c, leader)
    cfg = job.engine
    outcomes = lb.trade_outcomes(
        c, lb.BarrierSpec(cfg.atr_window, cfg.sl_atr_mult, cfg.reward_risk, cfg.fallback_sl_pct, h)
    )
    mom = MomentumSignPredictor().probs(c.close)
    primary = np.where(np.isfinite(mom), np.sign(mom - 0.5), 0.0)
    cost = _round_trip_bps(job.costs, job.symbol, c.ts, cfg.fee_bps)
    ys = {
        "direction": lb.direction(c, h),
        "barrier": lb.barrier(outcomes),
        "meta": lb.meta(outcomes, primary, cost),
    }
    finite = np.isfinite(values).all(axis=1)
    last = _last_return(c)
    n = len(c)
    embargo = max(h, int(spec.embargo_share * n))
    th = cfg.thresholds
    cells: list[Cell] = []
    for label in spec.labels:
        y = ys[label]
        usable = finite & np.isfinite(y) & np.isfinite(last)
        if label == "meta":
            usable &= primary != 0
        folds = purged_walk_forward(usable, h, spec.n_folds, spec.test_share, spec.val_share, embargo)
        per_model: dict[str, dict[str, list[Any]]] = {
            name: {"y": [], "p": [], "fold_acc": [], "bps": [], "r": [], "cost": [], "fold_exp": [], "ts": []}
            for name, _ in job.models
        }
        for k, f in enumerate(folds):
            mask = np.zeros(n, dtype=np.bool_)
            mask[f.train] = True
            std = Standardiser.fit(values, mask)
            x = np.nan_to_num(std.apply(values), nan=0.0)
            data = FitData(
                x[f.train],
                y[f.train],
                x[f.validate],
                y[f.validate],
                x[f.test],
                last[f.train],
                last[f.validate],
                last[f.test],
                spec.seed,
            )
            for name, fn in job.models:
                if fn is None and label == "meta":
                    pt = 0.5 + np.abs(mom[f.test] - 0.5)  # take every primary signal, with its own conviction
                elif fn is None:
                    pt = mom[f.test]
                else:
                    _, pt = fn(data)
                pt = np.asarray(pt, dtype=np.float64)
                prob = np.full(n, np.nan)
                if label == "meta":
                    prob[f.test] = 0.5 + primary[f.test] * (np.maximum(pt, 0.5) - 0.5)
                else:
                    prob[f.test] = pt
                t0, t1 = f.test_bounds
                bps, r, tc = _engine_trades(job, c, prob, t0, t1, h, k)
                acc = per_model[name]
                acc["y"].append(y[f.test])
                acc["p"].append(pt)
                acc["ts"].append(c.ts[f.test])
                acc["fold_acc"].append(ev.accuracy(y[f.test], pt) if f.test.size else float("nan"))
                acc["bps"].append(bps)
                acc["r"].append(r)
                acc["cost"].append(tc)
                acc["fold_exp"].append(float(np.mean(bps)) if bps.size else float("nan"))
        for name, _ in job.models:
            cells.append(_cell(job, name, label, h, per_model[name], th, leak_ok, leak_detail, int(keep.sum())))
    return cells


def _cell(
    job: Job,
    name: str,
    label: str,
    h: int,
    acc: dict[str, list[Any]],
    th: Any,
    leak_ok: bool,
    leak_detail: str,
    n_features: int,
) -> Cell:
    y = np.concatenate(acc["y"]) if acc["y"] else np.zeros(0)
    p = np.concatenate(acc["p"]) if acc["p"] else np.zeros(0)
    ts = np.concatenate(acc["ts"]) if acc["ts"] else np.zeros(0, dtype=np.int64)
    bps = np.concatenate(acc["bps"]) if acc["bps"] else np.zeros(0)
    r = np.concatenate(acc["r"]) if acc["r"] else np.zeros(0)
    cost = np.concatenate(acc["cost"]) if acc["cost"] else np.zeros(0)
    nan = float("nan")
    if y.size:
        ok = ev.correct(y, p).astype(np.float64)
        accuracy = float(ok.mean())
        a_ci = _acc_ci(ok, max(0, h - 1))
        auc = ev.roc_auc(y, p)
        se = auc_se(auc, int((y == 1).sum()), int((y == 0).sum()))
        auc_ci = (auc - 1.96 * se, auc + 1.96 * se)
        if label == "meta":  # a call is "take the trade" (p >= LOW); its precision is the win share
            conf = p
            tiers = []
            for tier, lo, hi in (
                (Tier.LOW, th.low, th.medium),
                (Tier.MEDIUM, th.medium, th.high),
                (Tier.HIGH, th.high, 2.0),
            ):
                sel = (conf >= lo) & (conf < hi)
                k = int(sel.sum())
                tiers.append((tier.name, k, float(y[sel].mean()) if k else nan, k / y.size))
            em = p >= th.low
            e_count, e_prec, e_cov = int(em.sum()), float(y[em].mean()) if em.any() else nan, float(em.mean())
        else:
            st = ev.tier_stats(y, p, th)
            tiers = [(s.tier.name, s.count, s.precision, s.coverage) for s in st if s.tier is not Tier.NONE]
            e = ev.emitted_stats(y, p, th, Tier.LOW)
            e_count, e_prec, e_cov = e.count, e.precision, e.coverage
        up = float(y.mean())
    else:
        accuracy, a_ci, auc, auc_ci, tiers, e_count, e_prec, e_cov, up = (
            nan,
            (nan, nan),
            nan,
            (nan, nan),
            [],
            0,
            nan,
            nan,
            nan,
        )
    return Cell(
        symbol=job.symbol,
        timeframe=job.timeframe.value,
        horizon_minutes=job.horizon_minutes,
        horizon_bars=h,
        label=label,
        model=name,
        n_test=int(y.size),
        up_share=up,
        accuracy=accuracy,
        accuracy_ci=a_ci,
        auc=auc,
        auc_ci=auc_ci,
        fold_accuracy=tuple(float(x) for x in acc["fold_acc"]),
        tiers=tuple(tiers),
        emitted_count=e_count,
        emitted_precision=e_prec,
        emitted_coverage=e_cov,
        trades=int(bps.size),
        expectancy=mean_test(bps),
        mean_r=float(r.mean()) if r.size else nan,
        win_rate=float((bps > 0).mean()) if bps.size else nan,
        fold_expectancy=tuple(float(x) for x in acc["fold_exp"]),
        cost_bps=float(cost.mean()) if cost.size else nan,
        leakage_ok=leak_ok,
        leakage_detail=leak_detail,
        features=n_features,
        span=(int(ts.min()), int(ts.max())) if ts.size else (0, 0),
    )


# ------------------------------------------------------------------------------------------ the grid


@attrs.frozen
class Verdict:
    """A cell after the grid's correction, with both gates."""

    cell: Cell
    adjusted_p: float
    selected: bool
    corrected_low: float
    trade_gate: bool
    trade_reason: str
    accuracy_gate: bool
    accuracy_reason: str
    suspect: str  # non-empty: accuracy far above the baselines (leakage until proven otherwise)


@attrs.frozen
class ResearchReport:
    spec: GridSpec
    verdicts: tuple[Verdict, ...]
    m: int
    selected: int
    seconds: float
    workers: int
    cost_description: str

    @property
    def passing(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.trade_gate)

    def summary(self) -> str:
        if self.passing:
            names = "; ".join(v.cell.key() for v in self.passing)
            return (
                f"{len(self.passing)} of {self.m} cells pass the trade gate after Benjamini-Hochberg "
                f"(q={self.spec.q}): {names}. Research promotes nothing; confirm on later data first."
            )
        enough = [v for v in self.verdicts if v.cell.trades >= self.spec.min_trades]
        if not enough:
            return f"no edge: 0 of {self.m} cells pass the trade gate; no cell has {self.spec.min_trades} trades."
        best = max(enough, key=lambda v: v.cell.expectancy.mean)
        return (
            f"no edge: 0 of {self.m} cells pass the trade gate after Benjamini-Hochberg (q={self.spec.q}; "
            f"{self.selected} selected). Best raw expectancy with >= {self.spec.min_trades} trades: {best.cell.key()} "
            f"{best.cell.expectancy.mean:+.2f} bps/trade on {best.cell.trades} trades, "
            f"corrected lower bound {best.corrected_low:+.2f} bps."
        )


def correct_grid(cells: Sequence[Cell], spec: GridSpec) -> tuple[list[Verdict], int]:
    """BH over every cell's one-sided expectancy p-value (p = 1 without trades), then the gates."""
    p = np.array([c.expectancy.p_one_sided if c.trades >= 2 else 1.0 for c in cells])
    sel, adj = benjamini_hochberg(p, spec.q)
    m = len(cells)
    r = int(sel.sum())
    # baselines' accuracy per (symbol, timeframe, horizon, label): a model far above them is suspect
    base: dict[tuple[str, str, int, str], float] = {}
    for c in cells:
        if c.model in BASELINES and not math.isnan(c.accuracy):
            k = (c.symbol, c.timeframe, c.horizon_minutes, c.label)
            base[k] = max(base.get(k, 0.0), c.accuracy)
    out = []
    for c, s, a in zip(cells, sel, adj, strict=True):
        low = corrected_lower_bound(c.expectancy.mean, c.expectancy.se, r, m, spec.q)
        g = trade_gate(c.expectancy, bool(s), low, float(a), spec.min_trades)
        enough = c.emitted_count >= spec.min_trades
        acc_ok = enough and not math.isnan(c.emitted_precision) and c.emitted_precision >= spec.min_precision
        acc_reason = (
            f"precision {c.emitted_precision:.3f} on {c.emitted_count} calls at tier >= LOW "
            f"({'>=' if acc_ok else 'below'} {spec.min_precision}"
            + ("" if enough else f"; fewer than {spec.min_trades} calls")
            + ")"
        )
        b = base.get((c.symbol, c.timeframe, c.horizon_minutes, c.label))
        suspect = ""
        if not c.leakage_ok:
            suspect = c.leakage_detail
        elif b is not None and c.model not in BASELINES and c.accuracy > b + 0.05:
            suspect = f"accuracy {c.accuracy:.3f} is {100 * (c.accuracy - b):.1f} points above the best baseline"
        out.append(Verdict(c, float(a), bool(s), low, g.passed and not suspect, g.reason, acc_ok, acc_reason, suspect))
    return out, r


def jobs_for(
    spec: GridSpec,
    candles: Mapping[tuple[str, str], Candles],
    engine: EngineConfig,
    costs: CostModel,
    specs: Mapping[str, SymbolSpec],
    models: Mapping[str, ModelFn | None],
    features: FeatureParams | None = None,
) -> list[Job]:
    features = features or FeatureParams()
    out = []
    for tf, horizons in spec.plan:
        for sym in spec.symbols:
            leader = candles.get((spec.leader, tf)) if sym != spec.leader else None
            for hz in horizons:
                out.append(
                    Job(
                        sym,
                        Timeframe.parse(tf),
                        hz,
                        candles[(sym, tf)],
                        leader,
                        spec,
                        engine,
                        costs,
                        specs[sym],
                        tuple((m, models[m]) for m in spec.models),
                        features,
                    )
                )
    # the longest jobs first, so the pool is not left waiting on one at the end
    return sorted(out, key=lambda j: -len(j.candles) * (1 + (j.spec.bars_for(j.timeframe.value) == 0)))


def run_research(
    jobs: Sequence[Job],
    spec: GridSpec,
    workers: int = 1,
    cost_description: str = "",
    on_done: Callable[[Job, list[Cell]], None] | None = None,
) -> ResearchReport:
    """Run every job (in a process pool when workers > 1) and correct across the whole grid."""
    t0 = time.perf_counter()
    results: dict[int, list[Cell]] = {}
    if workers <= 1 or len(jobs) <= 1:
        for i, j in enumerate(jobs):
            results[i] = run_job(j)
            if on_done is not None:
                on_done(j, results[i])
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futs = {pool.submit(run_job, j): i for i, j in enumerate(jobs)}
            for fut in as_completed(futs):
                i = futs[fut]
                results[i] = fut.result()
                if on_done is not None:
                    on_done(jobs[i], results[i])
    order = {
        (s, tf, h, lab, mod): k
        for k, (s, tf, h, lab, mod) in enumerate(
            (s, tf, h, lab, mod)
            for tf, hs in spec.plan
            for s in spec.symbols
            for h in hs
            for lab in spec.labels
            for mod in spec.models
        )
    }
    cells = sorted(
        (c for i in sorted(results) for c in results[i]),
        key=lambda c: order.get((c.symbol, c.timeframe, c.horizon_minutes, c.label, c.model), 1 << 30),
    )
    verdicts, r = correct_grid(cells, spec)
    return ResearchReport(spec, tuple(verdicts), len(cells), r, time.perf_counter() - t0, workers, cost_description)


def report_dict(rep: ResearchReport) -> dict[str, Any]:
    def f(x: float) -> float | None:
        return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)

    rows = []
    for v in rep.verdicts:
        c = v.cell
        e = c.expectancy
        rows.append(
            {
                "symbol": c.symbol,
                "timeframe": c.timeframe,
                "horizon": horizon_text(c.horizon_minutes),
                "horizon_bars": c.horizon_bars,
                "label": c.label,
                "model": c.model,
                "n_test": c.n_test,
                "up_share": f(c.up_share),
                "accuracy": f(c.accuracy),
                "accuracy_ci": [f(x) for x in c.accuracy_ci],
                "auc": f(c.auc),
                "auc_ci": [f(x) for x in c.auc_ci],
                "fold_accuracy": [f(x) for x in c.fold_accuracy],
                "tiers": [{"tier": t, "count": k, "precision": f(pr), "coverage": f(cv)} for t, k, pr, cv in c.tiers],
                "emitted": {
                    "count": c.emitted_count,
                    "precision": f(c.emitted_precision),
                    "coverage": f(c.emitted_coverage),
                },
                "trades": c.trades,
                "expectancy_bps": f(e.mean),
                "expectancy_ci_bps": [f(e.ci_low), f(e.ci_high)],
                "p_one_sided": f(e.p_one_sided),
                "bh_adjusted_p": f(v.adjusted_p),
                "bh_selected": v.selected,
                "corrected_low_bps": f(v.corrected_low),
                "mean_r": f(c.mean_r),
                "win_rate": f(c.win_rate),
                "fold_expectancy_bps": [f(x) for x in c.fold_expectancy],
                "cost_bps": f(c.cost_bps),
                "trade_gate": v.trade_gate,
                "trade_gate_reason": v.trade_reason,
                "accuracy_gate": v.accuracy_gate,
                "accuracy_gate_reason": v.accuracy_reason,
                "suspect": v.suspect,
                "leakage_ok": c.leakage_ok,
                "leakage": c.leakage_detail,
                "features": c.features,
                "test_span_ms": list(c.span),
            }
        )
    return {
        "grid": attrs.asdict(rep.spec),
        "cells": rep.m,
        "bh_selected": rep.selected,
        "passing": [v.cell.key() for v in rep.passing],
        "verdict": rep.summary(),
        "seconds": rep.seconds,
        "workers": rep.workers,
        "costs": rep.cost_description,
        "rows": rows,
    }
