"""`trading-ai backtest`: the batch engine over the real candles, report.html + summary.json.

The model (`--model baseline|promoted|TAG`, default: the promoted bundle when one is promoted, else
the baseline): a registry bundle's LSTM + Transformer probabilities are computed for every bar up
front (`training.batch_predict`, the numbers the live cycle would compute at each close) and
combined with the configured ensemble weights, as the live cycle does; the named baseline `momentum`
(domain.backtest.baseline.MomentumSignPredictor) otherwise. Every report and printout names the
model, its gate verdict and which bars the bundle had seen in training.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from composition.cli.context import Context
from composition.config import Config
from domain.backtest.baseline import MomentumSignPredictor
from domain.backtest.engine import EngineConfig, PairData
from domain.confidence import ConfidenceParams, EnsembleWeights
from domain.errors import UserError
from domain.ftmo import FtmoRules
from domain.market import Candles, Timeframe
from domain.policy import PolicyConfig
from domain.signals import Tier, TierThresholds
from domain.trading import SymbolSpec


def register(sub: Any) -> None:
    p = sub.add_parser("backtest", help="backtest the strategy on the real candles; writes reports/<run>/")
    p.add_argument("--timeframe", default=None, help="candle timeframe (default: data.timeframe)")
    p.add_argument("--cost-model", choices=("empirical", "fixed"), default=None,
                   help="empirical (needs an execution-metrics file) or fixed (give both bps values)")
    p.add_argument("--spread-bps", type=float, default=None)
    p.add_argument("--slippage-bps", type=float, default=None)
    p.add_argument("--run-name", default=None, help="report folder name under backtest.reports_dir")
    add_model_argument(p)
    p.set_defaults(handler=_backtest, log_mode="backtest")


def add_model_argument(p: Any) -> None:
    p.add_argument("--model", default=None, metavar="baseline|promoted|TAG",
                   help="the promoted bundle, a registry tag, or the momentum baseline "
                        "(default: the promoted bundle when one is promoted, else the baseline)")


BASELINE_DESCRIPTION = "momentum (baseline, not a trained model)"


@attrs.frozen(eq=False)
class ModelChoice:
    """What produces the backtest's probabilities. `predictors` is empty for the baseline."""

    kind: str  # "baseline" | "promoted" | "tag"
    description: str
    names: tuple[str, ...]
    predictors: tuple[Any, ...] = ()
    tag: str | None = None
    gates_passed: bool | None = None
    min_bars: int = 0  # closed bars a live cycle loads for these models (warm-up + window)
    timeframe: str | None = None
    # per pair: [first training bar, first test bar): the bars the bundle was fitted/calibrated on
    seen_ms: dict[str, tuple[int, int]] = attrs.field(factory=dict)
    reason: str = ""  # why this model (printed)

    def weights(self, config: Config) -> EnsembleWeights:
        """The live launcher's rule: the configured weights, or equal weights when none of these
        models has one (the baseline alone)."""
        if not self.predictors:
            return EnsembleWeights({n: 1.0 / len(self.names) for n in self.names})
        w = EnsembleWeights.parse(config.confidence.ensemble_weights)
        if not any(w.as_dict().get(n, 0) > 0 for n in self.names):
            w = EnsembleWeights({n: 1.0 / len(self.names) for n in self.names})
        return w

    def in_sample_bars(self, pairs: Sequence[PairData]) -> dict[str, int]:
        """Per pair, the period's bars inside the bundle's training/validation span (in-sample)."""
        out = {}
        for p in pairs:
            if p.pair in self.seen_ms:
                a, b = self.seen_ms[p.pair]
                out[p.pair] = int(((p.bars.ts >= a) & (p.bars.ts < b)).sum())
        return out

    def info(self, config: Config, pairs: Sequence[PairData] = ()) -> dict[str, Any]:
        """The summary.json record: which models, which version, their verdict and weights."""
        return {"kind": self.kind, "description": self.description, "names": list(self.names),
                "tag": self.tag, "gates_passed": self.gates_passed,
                "weights": self.weights(config).as_dict(),
                "train_to_test_start_ms": {k: list(v) for k, v in sorted(self.seen_ms.items())},
                "in_sample_bars": self.in_sample_bars(pairs)}


def _baseline(reason: str) -> ModelChoice:
    return ModelChoice("baseline", BASELINE_DESCRIPTION, ("momentum",), reason=reason)


def _seen_ranges(entry: dict[str, Any]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for pair, d in (entry.get("data_range") or {}).items():
        if not isinstance(d, dict):
            continue
        train, test = (d.get("train") or {}).get("range"), (d.get("test") or {}).get("range")
        if train and test:
            out[pair] = (int(train[0]), int(test[0]))
    return out


def choose_model(config: Config, which: str | None) -> ModelChoice:
    """`--model`: None = the promoted bundle if any, else the baseline; 'promoted' insists on one."""
    from training.predictor import RuntimeFeatures, load_predictors, load_runtime_predictors
    from training.registry import FileModelRegistry, UnknownTag

    models_dir = config.training.models_dir
    if which == "baseline":
        return _baseline("--model baseline")
    if which in (None, "promoted"):
        try:
            preds, features, passed, desc = load_runtime_predictors(config)
        except UnknownTag as exc:
            if which == "promoted":
                raise
            return _baseline(f"no promoted model ({exc})")
        tag = preds[0].version
        kind, reason = "promoted", f"the promoted bundle in {models_dir}"
    else:
        preds = load_predictors(models_dir, tag=which)
        tag = which
        first = preds[0]
        features = RuntimeFeatures(first.feature_params, first.timeframe, max(p.seq_len for p in preds))
        promoted, _p, _f = FileModelRegistry(models_dir).promoted_status()
        passed = bool(FileModelRegistry(models_dir).entry(tag).get("gates_passed", False))
        state = "promoted" if promoted == tag else "not promoted"
        desc = (f"{'+'.join(p.name for p in preds)} {tag} "
                f"({'passed its gates' if passed else 'FAILED its gates'}, {state})")
        kind, reason = "tag", f"--model {tag} from {models_dir}"
    entry = FileModelRegistry(models_dir).entry(tag)
    return ModelChoice(kind, desc, tuple(p.name for p in preds), tuple(preds), tag, passed, int(features.min_bars),
                       preds[0].timeframe.value, _seen_ranges(entry), reason)


def print_model(model: ModelChoice, pairs: Sequence[PairData] = ()) -> None:
    """The model line every backtest and simulation prints; a failed gate verdict is shouted."""
    print(f"model: {model.description} [{model.reason}]")
    if model.predictors and not model.gates_passed:
        print(f"WARNING: bundle {model.tag} FAILED its gates: these figures are from a model the promotion "
              "gates rejected (see `trading-ai evaluate`)")
    for p in pairs:
        if model.predictors and not any(p.pair in getattr(m, "pairs", ()) for m in model.predictors):
            print(f"note: bundle {model.tag} has no model for {p.pair}: no predictions, no trades there")
            continue
        seen = model.in_sample_bars([p]).get(p.pair, 0)
        if seen:
            a, b = (dt.datetime.fromtimestamp(x / 1000, dt.UTC) for x in model.seen_ms[p.pair])
            print(f"note: {seen} of {len(p.bars)} {p.pair} bars lie in the bundle's training/validation span "
                  f"({a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC): in-sample")


def _date_ms(text: str, what: str) -> int | None:
    if not text:
        return None
    try:
        d = dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"backtest.{what}={text!r} is invalid: expected a date YYYY-MM-DD") from None
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000)


def engine_config(config: Config, model: ModelChoice | None = None) -> EngineConfig:
    model = model or _baseline("default")
    r, c, b = config.risk, config.confidence, config.backtest
    rules_kw: dict[str, Any] = {
        "daily_loss_limit_pct": r.daily_loss_limit_pct, "max_loss_limit_pct": r.max_loss_limit_pct,
        "daily_buffer_pct": r.daily_buffer_pct, "total_buffer_pct": r.total_buffer_pct,
    }
    rules = (FtmoRules.one_step(r.initial_balance, **rules_kw) if r.challenge == "one-step"
             else FtmoRules.two_step(r.initial_balance, **rules_kw))
    return EngineConfig(
        thresholds=TierThresholds(c.tier_low, c.tier_medium, c.tier_high),
        hysteresis_scans=c.hysteresis_scans,
        confidence=ConfidenceParams(weights=model.weights(config), bias=c.conservative_bias),
        policy=PolicyConfig(max_per_hour=r.max_signals_per_hour,
                            max_per_hour_by_tier={Tier.HIGH: r.max_signals_per_hour_high},
                            backoff_losses=r.backoff_losses, backoff_window_ms=r.backoff_window_minutes * 60_000,
                            backoff_risk_reduction_pct=r.backoff_risk_reduction_pct),
        rules=rules, risk_pct=r.risk_per_trade_pct, horizon_bars=b.horizon_bars, fee_bps=b.fee_bps,
        latency_ms=b.latency_ms, kill_switch=r.kill_switch,
        # the live scan's window: trained models need their features' warm-up plus a full window
        lookback_bars=max(EngineConfig().lookback_bars, model.min_bars),
    )


def load_pairs(config: Config, timeframe: Timeframe, model: ModelChoice | None = None) -> list[PairData]:
    from adapters.market_data.bundled import BundledCandles

    model = model or _baseline("default")
    if model.timeframe is not None and model.timeframe != timeframe.value:
        raise UserError(f"model bundle {model.tag} was trained on {model.timeframe} candles; "
                        f"backtest timeframe is {timeframe} (use --timeframe {model.timeframe})")
    src = BundledCandles(config.data.candles_dir)
    start = _date_ms(config.backtest.start, "start")
    end = _date_ms(config.backtest.end, "end")
    pred = MomentumSignPredictor()
    out = []
    for sym in config.data.symbols:
        c: Candles = src.candles(sym, timeframe, start, end)
        if len(c) < 2:
            raise UserError(f"no {timeframe} candles of {sym} in the chosen period")
        # the same margin as the paper account, so a backtest and a dry-run size alike
        spec = SymbolSpec(sym, sym.replace("/USDT", "USD"), margin_rate=1.0 / config.broker.paper_leverage)
        if model.predictors:
            probs = _bundle_probs(model, src.candles(sym, timeframe, None, end), int(c.ts[0]))
        else:
            probs = {"momentum": pred.probs(c.close)}
        out.append(PairData(sym, c, probs, spec))
    return out


def _bundle_probs(model: ModelChoice, history: Candles, first_ms: int) -> dict[str, Any]:
    """Each period bar's probabilities per model. The live cycle at the period's first close already
    has `min_bars` closed bars of history, so the features start that far before the period."""
    from training.batch_predict import batch_predict

    i0 = int(np.searchsorted(history.ts, first_ms))
    ext = history.tail(len(history) - max(0, i0 - model.min_bars))
    k = len(ext) - (len(history) - i0)  # period's first bar inside ext
    probs = batch_predict(list(model.predictors), {history.symbol: ext})[history.symbol]
    return {name: p[k:] for name, p in probs.items()}


def _backtest(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.execution_metrics.cost_model import load_cost_model
    from adapters.reports.backtest_report import write_reports
    from services.backtest import build_summary, run_batch

    config = ctx.config
    b = config.backtest
    tf = Timeframe.parse(args.timeframe or config.data.timeframe)
    kind = args.cost_model or b.cost_model
    spread = args.spread_bps if args.spread_bps is not None else (b.spread_bps if b.spread_bps >= 0 else None)
    slip = args.slippage_bps if args.slippage_bps is not None else (b.slippage_bps if b.slippage_bps >= 0 else None)
    costs = load_cost_model(config, kind, spread, slip)
    model = choose_model(config, args.model)
    cfg = engine_config(config, model)
    t = time.perf_counter()
    pairs = load_pairs(config, tf, model)
    predict_wall = time.perf_counter() - t
    print_model(model, pairs)
    t = time.perf_counter()
    res = run_batch(pairs, cfg, costs, config.seed)
    wall = time.perf_counter() - t
    summary, curves = build_summary(pairs, cfg, res, costs, model=model.description)
    summary["models"] = model.info(config, pairs)
    summary["seed"] = config.seed
    name = args.run_name or b.run_name or _run_name(summary, tf)
    rh, sj = write_reports(Path(b.reports_dir) / name, summary, curves, {
        "wall_seconds": wall, "bars_per_second": summary["bars"] / wall if wall > 0 else None,
        "load_and_predict_seconds": predict_wall,
        "python": platform.python_version(), "finished_utc": dt.datetime.now(dt.UTC).isoformat(),
    })
    _print_table(summary, wall)
    print(f"candles + predictions: {predict_wall:.1f} s")
    print(f"report: {rh}\nsummary: {sj}")
    return 0


def _run_name(summary: dict[str, Any], tf: Timeframe) -> str:
    key = json.dumps({"settings": summary["settings"], "pairs": summary["pairs"], "period": summary["period"],
                      "cost": summary["cost_model"], "seed": summary["seed"],
                      "model": summary.get("models")}, sort_keys=True)
    return f"backtest-{tf.value}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4f}"
    return str(v)


def _print_table(s: dict[str, Any], wall: float) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"Backtest: {s['headline']}")
    t.add_column("figure")
    t.add_column("value", justify="right")
    rows = [
        ("bars", s["bars"]), ("candidates", s["candidates"]), ("trades", s["trades"]),
        ("return %", s["return_pct"]), ("final balance", s["final_balance"]),
        ("max drawdown %", s["max_drawdown_pct"]), ("avg drawdown %", s["avg_drawdown_pct"]),
        ("hit rate", s["hit_rate"]), ("mean R", s["r_distribution"]["mean"]), ("exposure", s["exposure"]),
        ("strategy bps/trade (latency-adj.)", s["pnl_vs_baselines_bps_per_trade"]["strategy_latency_adjusted"]),
        ("persistence bps/trade (same trades)", s["pnl_vs_baselines_bps_per_trade"]["persistence_same_trades"]),
        ("brier", s["model_quality"]["brier"]),
        ("breach episodes (our floor / FTMO's)", f"{s['breach_episodes']} / {s['ftmo_breach_episodes']}"),
        ("days halted by a breach", s["breach_halt_days"]),
        ("blocks", ", ".join(f"{k}={v}" for k, v in s["blocks_by_reason"].items())),
        ("engine wall s / bars per s", f"{wall:.2f} / {s['bars'] / wall if wall else float('nan'):,.0f}"),
    ]
    for k, v in rows:
        t.add_row(k, _fmt(v))
    Console().print(t)


__all__ = ["ModelChoice", "add_model_argument", "choose_model", "engine_config", "load_pairs", "print_model"]
