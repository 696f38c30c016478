"""`trading-ai backtest`: the batch engine over the real candles, report.html + summary.json.

The model: trained predictors are used when the model registry provides them; until then the named
baseline `momentum` (domain.backtest.baseline.MomentumSignPredictor) supplies the probabilities,
and every report says which model produced its figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import platform
import time
from pathlib import Path
from typing import Any

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
    p.set_defaults(handler=_backtest, log_mode="backtest")


def _date_ms(text: str, what: str) -> int | None:
    if not text:
        return None
    try:
        d = dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"backtest.{what}={text!r} is invalid: expected a date YYYY-MM-DD") from None
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000)


def engine_config(config: Config) -> EngineConfig:
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
        confidence=ConfidenceParams(weights=EnsembleWeights({"momentum": 1.0}), bias=c.conservative_bias),
        policy=PolicyConfig(max_per_hour=r.max_signals_per_hour,
                            max_per_hour_by_tier={Tier.HIGH: r.max_signals_per_hour_high},
                            backoff_losses=r.backoff_losses, backoff_window_ms=r.backoff_window_minutes * 60_000,
                            backoff_risk_reduction_pct=r.backoff_risk_reduction_pct),
        rules=rules, risk_pct=r.risk_per_trade_pct, horizon_bars=b.horizon_bars, fee_bps=b.fee_bps,
        latency_ms=b.latency_ms, kill_switch=r.kill_switch,
    )


def load_pairs(config: Config, timeframe: Timeframe) -> list[PairData]:
    from adapters.market_data.bundled import BundledCandles

    src = BundledCandles(config.data.candles_dir)
    start = _date_ms(config.backtest.start, "start")
    end = _date_ms(config.backtest.end, "end")
    pred = MomentumSignPredictor()
    out = []
    for sym in config.data.symbols:
        c: Candles = src.candles(sym, timeframe, start, end)
        if len(c) < 2:
            raise UserError(f"no {timeframe} candles of {sym} in the chosen period")
        spec = SymbolSpec(sym, sym.replace("/USDT", "USD"))
        out.append(PairData(sym, c, {"momentum": pred.probs(c.close)}, spec))
    return out


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
    cfg = engine_config(config)
    pairs = load_pairs(config, tf)
    t = time.perf_counter()
    res = run_batch(pairs, cfg, costs, config.seed)
    wall = time.perf_counter() - t
    summary, curves = build_summary(pairs, cfg, res, costs, model="momentum (baseline, not a trained model)")
    summary["seed"] = config.seed
    name = args.run_name or b.run_name or _run_name(summary, tf)
    rh, sj = write_reports(Path(b.reports_dir) / name, summary, curves, {
        "wall_seconds": wall, "bars_per_second": summary["bars"] / wall if wall > 0 else None,
        "python": platform.python_version(), "finished_utc": dt.datetime.now(dt.UTC).isoformat(),
    })
    _print_table(summary, wall)
    print(f"report: {rh}\nsummary: {sj}")
    return 0


def _run_name(summary: dict[str, Any], tf: Timeframe) -> str:
    key = json.dumps({"settings": summary["settings"], "pairs": summary["pairs"], "period": summary["period"],
                      "cost": summary["cost_model"], "seed": summary["seed"]}, sort_keys=True)
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
        ("brier", s["model_quality"]["brier"]), ("guardrail breaches", s["guardrail_breaches"]),
        ("blocks", ", ".join(f"{k}={v}" for k, v in s["blocks_by_reason"].items())),
        ("engine wall s / bars per s", f"{wall:.2f} / {s['bars'] / wall if wall else float('nan'):,.0f}"),
    ]
    for k, v in rows:
        t.add_row(k, _fmt(v))
    Console().print(t)


__all__ = ["engine_config", "load_pairs", "np"]
