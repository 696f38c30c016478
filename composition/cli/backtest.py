"""`trading-ai backtest`: the batch engine over the real candles, report.html + summary.json.

The model (`--model baseline|promoted|TAG`, default: the promoted bundle when one is promoted, else
the baseline; chosen and loaded by composition.model_choice): a registry bundle's LSTM + Transformer
probabilities are computed for every bar up front (`training.batch_predict`, the numbers the live
cycle would compute at each close) and combined with the configured ensemble weights, as the live
cycle does; the named baseline `momentum` (domain.backtest.baseline.MomentumSignPredictor) otherwise.
Every report and printout names the model, its gate verdict and which bars the bundle had seen in
training.

`--walk-forward [--periods N] [--workers W]` (or config backtest.periods > 1): the period split into N
consecutive spans of equal length, each run on its own fresh account in W processes
(`services.backtest.walk_forward`; the result does not depend on W). Predictions are computed once
over the whole period (they are causal) and sliced, so each span's first bar has the history a live
cycle would have. One row per period plus the total; summary.json holds every period's summary.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from composition.cli.context import Context
from composition.cli.output import add_json_flag, add_model_argument, emit_json
from composition.config import Config
from composition.model_choice import choose_model, engine_config, load_pairs, print_model
from domain.errors import UserError
from domain.market import Timeframe

# The engine and its rules load when a backtest runs, not whenever the parser is built.
if TYPE_CHECKING:
    from composition.model_choice import ModelChoice
    from domain.backtest.engine import EngineConfig, EngineResult, PairData
    from domain.execution_costs import CostModel
    from domain.settings import KernelSettings

DEFAULT_WALK_FORWARD_PERIODS = 4


def register(sub: Any) -> None:
    p = sub.add_parser("backtest", help="backtest the strategy on the real candles; writes reports/<run>/")
    p.add_argument("--timeframe", default=None, help="candle timeframe (default: data.timeframe)")
    p.add_argument(
        "--cost-model",
        choices=("empirical", "fixed"),
        default=None,
        help="empirical (needs an execution-metrics file) or fixed (give both bps values)",
    )
    p.add_argument("--spread-bps", type=float, default=None)
    p.add_argument("--slippage-bps", type=float, default=None)
    p.add_argument("--run-name", default=None, help="report folder name under backtest.reports_dir")
    p.add_argument(
        "--walk-forward",
        action="store_true",
        help="split the period into --periods consecutive spans, each on its own account, run in "
        "--workers processes; one row per period plus the total (implied by --periods/--workers)",
    )
    p.add_argument(
        "--periods",
        type=int,
        default=None,
        metavar="N",
        help=f"walk-forward periods, 2-64 (default: backtest.periods, or {DEFAULT_WALK_FORWARD_PERIODS} "
        "when that is 1)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="W",
        help="processes running the periods, 1-64 (default: backtest.workers); same result for any W",
    )
    p.add_argument(
        "--executor",
        choices=("process", "ray"),
        default="process",
        help="where the walk-forward's periods run: local processes (default) or Ray ([scale] extra; "
        "implies --walk-forward); same result on either",
    )
    p.add_argument("--address", default=None, help="with --executor ray: 'auto' or host:port of a running cluster")
    p.add_argument(
        "--block",
        choices=("test",),
        default=None,
        help="test: each pair's untouched test block of the bundle's final fold (its recorded range, in "
        "place of backtest.start/end): the very signals its promotion gates graded",
    )
    add_model_argument(p)
    add_json_flag(p)
    p.set_defaults(handler=_backtest, log_mode="backtest")


_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_run_name(name: str) -> None:
    """A report folder name is one plain path component: `../x`, `/tmp/x` or `a/b` would write outside
    backtest.reports_dir."""
    if name and (not _RUN_NAME.fullmatch(name) or ".." in name):
        raise UserError(
            f"--run-name {name!r}: use letters, digits, '.', '_' and '-' only (one folder name "
            "under backtest.reports_dir, no '/' or '..')"
        )


def _backtest(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.execution_metrics.cost_model import load_cost_model
    from adapters.reports.backtest_report import build_charts, write_reports
    from composition.settings import kernel_settings
    from services.backtest import backtest, run_meta

    config = ctx.config
    b = config.backtest
    check_run_name(args.run_name or b.run_name)  # before any work: the report folder stays under reports_dir
    tf = Timeframe.parse(args.timeframe or config.data.timeframe)
    kind = args.cost_model or b.cost_model
    spread = args.spread_bps if args.spread_bps is not None else (b.spread_bps if b.spread_bps >= 0 else None)
    slip = args.slippage_bps if args.slippage_bps is not None else (b.slippage_bps if b.slippage_bps >= 0 else None)
    wf_periods, workers = _walk_forward_settings(args, config)
    costs = load_cost_model(config, kind, spread, slip)
    model = choose_model(config, args.model)
    settings = kernel_settings(config)
    cfg = engine_config(settings, model)
    t = time.perf_counter()
    if args.block and wf_periods:
        raise UserError("--block test is one block per pair; it does not combine with --walk-forward/--periods")
    pairs = load_pairs(config, tf, model, args.block)
    from composition.runtime.plugins import with_plugins  # extra predictors, stored sentiment: as a replay

    pairs, cfg = with_plugins(config, pairs, cfg, model.names, ctx.log)
    predict_wall = time.perf_counter() - t
    print_model(model, pairs)
    if wf_periods:
        return _walk_forward(config, settings, tf, model, cfg, costs, pairs, wf_periods, workers, predict_wall, args)
    run = backtest(pairs, cfg, costs, config.seed, model=model.description, models=lambda ps: model.info(settings, ps))
    summary = run.summary
    name = args.run_name or b.run_name or _run_name(summary, tf)
    rh, sj = write_reports(
        Path(b.reports_dir) / name,
        summary,
        run.curves,
        run_meta(run, predict_wall),
        build_charts(pairs, run.result, cfg.rules, run.curves),
    )
    _print_table(summary, run.wall_seconds)
    print(f"candles + predictions: {predict_wall:.1f} s")
    print(f"report: {rh}\nsummary: {sj}")
    emit_json(args, {"summary": json.loads(sj.read_text(encoding="utf-8")), "report": str(rh), "summary_file": str(sj)})
    return 0


# ---------------------------------------------------------------------------------- walk-forward


def _walk_forward_settings(args: argparse.Namespace, config: Config) -> tuple[int, int]:
    """(periods, workers); periods 0 = one plain period. --walk-forward, --periods, --workers or config
    backtest.periods > 1 ask for a walk-forward."""
    b = config.backtest
    wanted = (
        args.walk_forward
        or args.periods is not None
        or args.workers is not None
        or b.periods > 1
        or getattr(args, "executor", "process") == "ray"
    )
    if not wanted:
        return 0, 1
    periods = (
        args.periods if args.periods is not None else (b.periods if b.periods > 1 else DEFAULT_WALK_FORWARD_PERIODS)
    )
    workers = args.workers if args.workers is not None else b.workers
    if not 2 <= periods <= 64:
        raise UserError(f"--periods {periods}: a walk-forward needs 2 to 64 periods")
    if not 1 <= workers <= 64:
        raise UserError(f"--workers {workers}: expected 1 to 64 processes")
    return periods, workers


def _walk_forward(
    config: Config,
    settings: KernelSettings,
    tf: Timeframe,
    model: ModelChoice,
    cfg: EngineConfig,
    costs: CostModel,
    pairs: Sequence[PairData],
    n: int,
    workers: int,
    predict_wall: float,
    args: argparse.Namespace,
) -> int:
    from adapters.reports.backtest_report import build_charts, summary_json, write_reports, write_walk_forward_index
    from composition.tuning.executors import run_walk_forward_on  # --executor ray: the periods as Ray tasks
    from services.backtest import Period, run_meta, walk_forward

    def run_periods(periods: Sequence[Period], c: EngineConfig, k: CostModel, seed: int) -> list[EngineResult]:
        return run_walk_forward_on(args.executor, periods, c, k, seed, workers, args.address)

    run = walk_forward(
        pairs,
        n,
        cfg,
        costs,
        config.seed,
        model=model.description,
        models=lambda ps: model.info(settings, ps),
        run_periods=run_periods,
    )
    summary = run.summary
    name = args.run_name or config.backtest.run_name or _run_name(summary, tf, prefix=f"walkforward{n}")
    root = Path(config.backtest.reports_dir) / name
    meta = run_meta(run, predict_wall, workers=workers)
    for p, s, res, c in zip(run.periods, summary["periods"], run.results, run.curves, strict=True):
        write_reports(
            root / f"period-{s['index'] + 1:02d}",
            s,
            c,
            {**meta, "period": s["index"] + 1},
            build_charts(p.pairs, res, cfg.rules, c),
            title=f"Walk-forward period {s['index'] + 1} of {n}",
            back_link="../index.html",
        )
    index = write_walk_forward_index(root, summary)
    sj = root / "summary.json"
    sj.write_text(summary_json(summary), encoding="utf-8")
    (root / "run.json").write_text(json.dumps(meta, sort_keys=True, indent=2) + "\n", encoding="utf-8")
    _print_walk_forward(summary)
    wall = run.wall_seconds
    print(f"engine wall: {wall:.2f} s with {workers} worker(s); candles + predictions: {predict_wall:.1f} s")
    print(f"report: {index} (links each period-NN/report.html)\nsummary: {sj}")
    emit_json(
        args, {"summary": json.loads(sj.read_text(encoding="utf-8")), "report": str(index), "summary_file": str(sj)}
    )
    return 0


def _day(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _print_walk_forward(summary: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"Backtest: {summary['headline']}")
    for col in (
        "period",
        "from (UTC)",
        "to (UTC)",
        "bars",
        "trades",
        "return %",
        "max DD %",
        "hit rate",
        "breach episodes",
        "halt days",
    ):
        t.add_column(col, justify="left" if col in ("period", "from (UTC)", "to (UTC)") else "right")
    for s in summary["periods"]:
        t.add_row(
            str(s["index"] + 1),
            _day(s["period"]["start_ms"]),
            _day(s["period"]["end_ms"]),
            str(s["bars"]),
            str(s["trades"]),
            f"{s['return_pct']:+.4f}",
            f"{s['max_drawdown_pct']:.4f}",
            "-" if s["hit_rate"] is None else f"{s['hit_rate']:.4f}",
            str(s["breach_episodes"]),
            str(s["breach_halt_days"]),
        )
    tot = summary["total"]
    t.add_row(
        "total",
        _day(summary["period"]["start_ms"]),
        _day(summary["period"]["end_ms"]),
        str(tot["bars"]),
        str(tot["trades"]),
        f"{tot['mean_return_pct']:+.4f} mean",
        f"{tot['worst_max_drawdown_pct']:.4f} worst",
        "-" if tot["hit_rate"] is None else f"{tot['hit_rate']:.4f}",
        str(tot["breach_episodes"]),
        str(tot["breach_halt_days"]),
    )
    console = Console()
    (console if console.is_terminal else Console(width=160)).print(t)
    print(
        f"total P&L {tot['pnl']:+,.2f} over {tot['periods']} fresh accounts; compounded return "
        f"{tot['compounded_return_pct']:+.4f}%; profitable periods {tot['profitable_periods']}/{tot['periods']}"
    )


def _run_name(summary: dict[str, Any], tf: Timeframe, prefix: str = "backtest") -> str:
    key = json.dumps(
        {
            "settings": summary["settings"],
            "pairs": summary["pairs"],
            "period": summary["period"],
            "cost": summary["cost_model"],
            "seed": summary["seed"],
            "model": summary.get("models"),
        },
        sort_keys=True,
    )
    return f"{prefix}-{tf.value}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


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
        ("bars", s["bars"]),
        ("candidates", s["candidates"]),
        ("trades", s["trades"]),
        ("return %", s["return_pct"]),
        ("final balance", s["final_balance"]),
        ("max drawdown %", s["max_drawdown_pct"]),
        ("avg drawdown %", s["avg_drawdown_pct"]),
        ("hit rate", s["hit_rate"]),
        ("mean R", s["r_distribution"]["mean"]),
        ("exposure", s["exposure"]),
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
