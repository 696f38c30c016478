"""`trading-ai research [--quick] [--json] [--workers N] [--markdown FILE]`: the grid of
coin x timeframe x horizon x label x model on purged walk-forward folds, every cell's trades run
through the product's batch engine, Benjamini-Hochberg across the grid (services/research.py).

Candles come from the cleaned store (the one data path), the engine's settings from the one
settings builder (composition.settings), costs as `train` chooses them (measured execution costs
when present, else the documented fixed model) plus the configured commission. It prints the
table and the corrected verdict, writes the full report to `<training.runs_dir>/research/`, and
promotes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Any

from composition.cli.context import Context
from composition.cli.output import progress_bar
from domain.errors import UserError


def register(sub: Any) -> None:
    p = sub.add_parser("research", help="search coin x timeframe x horizon x label x model for an edge, corrected")
    p.add_argument("--quick", action="store_true", help="the small grid (BTC, ETH; 2 folds; recent bars): ~3 min")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")
    p.add_argument("--workers", type=int, default=2, help="processes for the grid (default 2)")
    p.add_argument("--symbols", help="comma-separated coins (default: the grid's BTC, ETH, BNB)")
    p.add_argument("--horizons", help="only these horizons of the grid, e.g. 4h,1d (default: all)")
    p.add_argument("--markdown", metavar="FILE", help="also write the table as markdown to FILE")
    p.add_argument(
        "--cost-model",
        choices=("auto", "empirical", "fixed"),
        default="auto",
        help="execution costs: measured (empirical), fixed, or measured when present (default)",
    )
    p.add_argument("--spread-bps", type=float, help="fixed cost model: spread (bps)")
    p.add_argument("--slippage-bps", type=float, help="fixed cost model: slippage per side (bps)")
    p.set_defaults(handler=handle)


def _minutes(text: str) -> int:
    t = text.strip().lower()
    units = {"m": 1, "h": 60, "d": 1440}
    try:
        return int(t[:-1]) * units[t[-1]]
    except (KeyError, ValueError, IndexError):
        raise UserError(f"invalid horizon {text!r}; expected e.g. 15m, 1h, 4h, 1d") from None


def _f(x: Any, fmt: str = ".3f") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return format(x, fmt)


def _ci(pair: list[Any], fmt: str = ".3f") -> str:
    return f"[{_f(pair[0], fmt)}, {_f(pair[1], fmt)}]"


def _gate(ok: bool) -> str:
    return "PASS" if ok else "fail"


COLUMNS = (
    "coin",
    "tf",
    "h",
    "label",
    "model",
    "n test",
    "accuracy [95% CI]",
    "AUC [95% CI]",
    "LOW+ prec/cov",
    "trades",
    "net bps/trade [95% CI]",
    "BH p",
    "corr. low",
    "0.68 gate",
    "trade gate",
    "note",
)


def row_cells(r: dict[str, Any]) -> list[str]:
    e = r["emitted"]
    note = r["suspect"] or ("" if r["leakage_ok"] else "leakage")
    return [
        r["symbol"].split("/")[0],
        r["timeframe"],
        r["horizon"],
        r["label"],
        r["model"],
        f"{r['n_test']:,}",
        f"{_f(r['accuracy'])} {_ci(r['accuracy_ci'])}",
        f"{_f(r['auc'])} {_ci(r['auc_ci'])}",
        f"{_f(e['precision'])}/{_f(100 * e['coverage'] if e['coverage'] is not None else None, '.1f')}%",
        str(r["trades"]),
        f"{_f(r['expectancy_bps'], '+.1f')} {_ci(r['expectancy_ci_bps'], '+.1f')}",
        _f(r["bh_adjusted_p"], ".3g"),
        _f(r["corrected_low_bps"], "+.1f"),
        _gate(r["accuracy_gate"]),
        _gate(r["trade_gate"]),
        note,
    ]


def markdown(report: dict[str, Any], command: str) -> str:
    lines = [
        f"Command: `{command}`; grid `{report['grid']['name']}`, {report['cells']} cells, "
        f"{report['grid']['n_folds']} purged walk-forward folds; {report['seconds']:.0f} s on "
        f"{report['workers']} worker processes; costs: {report['costs']}.",
        "",
        f"**Verdict:** {report['verdict']}",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(row_cells(r)) + " |" for r in report["rows"]]
    return "\n".join(lines) + "\n"


def handle(args: argparse.Namespace, ctx: Context) -> int:
    import attrs
    from rich.console import Console
    from rich.table import Table

    from composition.candles import cleaned_store
    from composition.settings import kernel_settings
    from composition.training_inputs import cost_model_for
    from domain.backtest.engine import EngineConfig
    from domain.market import Timeframe
    from domain.trading import SymbolSpec
    from services import research as rs
    from training.gates import GateConfig
    from training.pipeline import pairs_of
    from training.research_models import FITTED

    if args.workers < 1:
        raise UserError(f"--workers must be >= 1, got {args.workers}")
    err = Console(stderr=True)
    cfg = ctx.config
    gates = GateConfig()
    spec = rs.QUICK if args.quick else rs.GridSpec()
    spec = attrs.evolve(spec, seed=cfg.seed, min_trades=gates.min_signals, min_precision=gates.min_precision)
    if args.symbols:
        syms = tuple(pairs_of(args.symbols.split(",")))
        if not syms:
            raise UserError("--symbols is empty; give e.g. BTC,ETH,BNB")
        spec = attrs.evolve(spec, symbols=syms)
    if args.horizons:
        want = {_minutes(h) for h in args.horizons.split(",") if h.strip()}
        plan = tuple((tf, tuple(h for h in hs if h in want)) for tf, hs in spec.plan)
        plan = tuple((tf, hs) for tf, hs in plan if hs)
        if not plan:
            have = sorted({h for _, hs in spec.plan for h in hs})
            raise UserError(
                f"--horizons {args.horizons!r} matches no horizon of the grid; valid: "
                + ", ".join(rs.horizon_text(h) for h in have)
            )
        spec = attrs.evolve(spec, plan=plan)
    need = [(s, Timeframe.parse(tf)) for tf, _ in spec.plan for s in (*spec.symbols, spec.leader)]
    store = cleaned_store(cfg, need)
    candles = {(s, tf.value): store.candles(s, tf) for s, tf in need}
    costs = cost_model_for(cfg, args.cost_model, args.spread_bps, args.slippage_bps, err)
    settings = kernel_settings(cfg)
    engine = EngineConfig.from_settings(settings, (rs.PROBS_KEY,))
    specs = {
        s: SymbolSpec(s, s.replace("/USDT", "USD"), margin_rate=1.0 / cfg.broker.paper_leverage) for s in spec.symbols
    }
    models: dict[str, Any] = {**FITTED, rs.MOMENTUM: None}
    jobs = rs.jobs_for(spec, candles, engine, costs, specs, models)
    cost_text = f"{getattr(costs, 'description', type(costs).__name__)}; commission {engine.fee_bps:g} bps per side"
    t0 = time.perf_counter()
    with progress_bar(err) as progress:
        task = progress.add_task(f"research {spec.name}: {spec.cells()} cells in {len(jobs)} jobs", total=len(jobs))
        rep = rs.run_research(jobs, spec, args.workers, cost_text, on_done=lambda _j, _c: progress.advance(task))
    report = rs.report_dict(rep)
    stamp = dt.datetime.now(tz=dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out_dir = Path(cfg.training.runs_dir) / "research"
    out_dir.mkdir(parents=True, exist_ok=True)
    out = out_dir / f"research_{spec.name}_{stamp}.json"
    out.write_text(json.dumps(report, indent=1))
    command = (
        "trading-ai research"
        + (" --quick" if args.quick else "")
        + (f" --symbols {args.symbols}" if args.symbols else "")
    )
    if args.markdown:
        Path(args.markdown).write_text(markdown(report, command))
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    from rich.console import Console as C

    console = C() if C().is_terminal else C(width=250)
    table = Table(
        title=f"research grid '{spec.name}': {rep.m} cells, out-of-sample test folds, "
        f"{time.perf_counter() - t0:.0f} s on {args.workers} workers"
    )
    for col in COLUMNS:
        table.add_column(col)
    for r in report["rows"]:
        table.add_row(*row_cells(r))
    console.print(table)
    print(f"costs: {cost_text}")
    print(f"verdict: {rep.summary()}")
    print(f"report: {out}")
    return 0
