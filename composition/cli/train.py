"""`trading-ai train`: walk-forward training of the LSTMs and the Transformer on real candles.

Also `--ablation`: the same protocol twice, base-timeframe-only features vs. the multi-timeframe
set, printing the difference (not registered).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import attrs

from composition.cli.context import Context
from composition.cli.report_tables import render_report
from composition.training_inputs import cost_model_for, load_candles, plugin_members, train_settings, training_augment


def register(sub: Any) -> None:
    p = sub.add_parser("train", help="train and register models on the real candles (walk-forward, gated)")
    p.add_argument("--symbols", help="comma-separated coins or pairs, e.g. BTC,ETH,BNB (default: config data.symbols)")
    p.add_argument("--timeframe", help="base timeframe, e.g. 5m or 1m (default: config data.timeframe)")
    p.add_argument("--quick", action="store_true", help="small profile for tests and the demo (~1 minute)")
    p.add_argument("--resume", action="store_true", help="continue from the last epoch checkpoints of this profile")
    p.add_argument(
        "--ablation",
        action="store_true",
        help="train base-timeframe-only vs multi-timeframe features and report the difference",
    )
    p.add_argument("--folds", type=int, help="walk-forward folds (default: profile)")
    p.add_argument("--epochs", type=int, help="max epochs for both networks (default: profile)")
    p.add_argument(
        "--cost-model",
        choices=("auto", "empirical", "fixed"),
        default="auto",
        help="costs for the expectancy gate: measured execution metrics (empirical), --spread-bps/"
        "--slippage-bps (fixed), or auto = empirical when measured, else the documented 10 bps "
        "round trip (said so in the report)",
    )
    p.add_argument("--spread-bps", type=float, help="fixed cost model: full spread in bps")
    p.add_argument("--slippage-bps", type=float, help="fixed cost model: slippage per side in bps")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, ctx: Context) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from training.service import train_and_record

    console = Console(stderr=True)
    config = ctx.config
    candles, tf = load_candles(config, args.symbols, args.timeframe)
    settings = train_settings(config, args.quick, args.folds, args.epochs)
    costs = cost_model_for(config, args.cost_model, args.spread_bps, args.slippage_bps, console)
    settings, augment = training_augment(config, settings, ctx.log)  # [gan] enabled: synthetic training rows
    if args.ablation:
        return _ablation(candles, settings, ctx, console, costs)
    members = plugin_members(config, ctx.log)
    t0 = time.perf_counter()
    progress = (
        None
        if args.no_progress
        else Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, transient=False
        )
    )

    def log(msg: str) -> None:
        ctx.log.debug(msg)  # the console line below is the human copy; the log file gets it at debug
        console.print(f"[dim]{msg}[/dim]")

    with progress if progress is not None else contextlib.nullcontext():
        out = train_and_record(
            candles,
            settings,
            ctx.config.training.models_dir,
            ctx.config.training.runs_dir,
            cost_model=costs,
            resume=args.resume,
            progress=progress,
            log=log,
            augment=augment,
            members=members,
        )
    secs = time.perf_counter() - t0
    render_report(out.report, Console(), tag=out.tag)
    verdict = "passed its gates" if out.gates_passed else "FAILED its gates (recorded, not promotable without --force)"
    print(
        f"registered {out.tag} ({settings.profile} profile, {tf.value}, {secs:.0f} s): {verdict}; "
        f"report {out.report_path}"
    )
    return 0 if out.gates_passed else 1  # exit 1: a FAIL verdict (README "Exit codes")


def _ablation(candles: dict[str, Any], settings: Any, ctx: Context, console: Any, costs: Any) -> int:
    from rich.table import Table

    from training.experiments import new_run_id
    from training.pipeline import run_training

    single = attrs.evolve(
        settings, n_folds=1, feature_params=attrs.evolve(settings.feature_params, higher_timeframes=())
    )
    multi = attrs.evolve(settings, n_folds=1)
    results = {}
    for label, s in (("single-TF", single), ("multi-TF", multi)):
        console.print(f"[bold]ablation: training with {label} features[/bold]")
        results[label] = run_training(
            candles, s, cost_model=costs, log=lambda m: console.print(f"[dim]{m}[/dim]")
        ).report
    table = Table(title="Multi-timeframe ablation (final fold; val accuracy, test emitted precision, test AUC)")
    for col in (
        "pair",
        "model",
        "val acc 1-TF",
        "val acc multi",
        "diff (pts)",
        "test prec 1-TF",
        "test prec multi",
        "test AUC 1-TF",
        "test AUC multi",
    ):
        table.add_column(col)
    out: dict[str, Any] = {}
    for pair in results["multi-TF"]["pairs"]:
        for model in ("lstm", "transformer", "ensemble", "lightgbm"):
            a = results["single-TF"]["final"]["pairs"][pair]["models"][model]
            b = results["multi-TF"]["final"]["pairs"][pair]["models"][model]

            def prec(e: dict[str, Any]) -> float:
                # precision of every call at tier >= LOW on test (calibrated where the model has a map)
                tiers = e.get("test_calibrated", e["test"])["tiers"]
                n = sum(tiers[t]["count"] for t in ("LOW", "MEDIUM", "HIGH"))
                wins = sum(
                    tiers[t]["count"] * tiers[t]["precision"] for t in ("LOW", "MEDIUM", "HIGH") if tiers[t]["count"]
                )
                return wins / n if n else float("nan")

            diff = 100 * (b["val"]["accuracy"] - a["val"]["accuracy"])
            out[f"{model}:{pair}"] = {
                "val_acc_single": a["val"]["accuracy"],
                "val_acc_multi": b["val"]["accuracy"],
                "diff_points": diff,
                "prec_single": prec(a),
                "prec_multi": prec(b),
            }
            table.add_row(
                pair,
                model,
                f"{a['val']['accuracy']:.3f}",
                f"{b['val']['accuracy']:.3f}",
                f"{diff:+.2f}",
                f"{prec(a):.3f}",
                f"{prec(b):.3f}",
                f"{a['test']['auc']:.3f}",
                f"{b['test']['auc']:.3f}",
            )
    from rich.console import Console

    Console(width=200).print(table)
    path = Path(ctx.config.training.runs_dir) / f"ablation_{new_run_id()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps({"rows": out, "single": results["single-TF"], "multi": results["multi-TF"]}, allow_nan=True),
        encoding="utf-8",
    )
    mean_diff = sum(v["diff_points"] for v in out.values()) / max(len(out), 1)
    print(f"mean val accuracy difference multi - single: {mean_diff:+.2f} points (plan expects >= +2); {path}")
    return 0
