"""`trading-ai evaluate`: the recorded out-of-sample figures of a training run and its gate table.

Every number comes from the run's report (runs/<run_id>/report.json), computed by the training run
on the walk-forward test split of the real candles; nothing is recomputed or rounded up here.
"""

from __future__ import annotations

import argparse
from typing import Any

from composition.cli.context import Context
from composition.cli.output import EXIT_FAIL, EXIT_OK, add_json_flag, emit_json
from composition.cli.report_tables import gates_verdict, render_report, signals_graded
from domain.errors import UserError


def register(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="per-coin test metrics, calibration, tiers, baselines and gates of a run")
    p.add_argument("--run", help="run id (default: the latest run, or the run of --tag)")
    p.add_argument("--tag", help="registry tag whose training run to show")
    p.add_argument("--folds", action="store_true", help="also show every walk-forward fold's test accuracy")
    add_json_flag(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace, ctx: Context) -> int:
    from rich.console import Console

    from training.experiments import latest_report
    from training.registry import FileModelRegistry

    run_id = args.run
    if args.tag:
        run_id = FileModelRegistry(ctx.config.training.models_dir).entry(args.tag)["run_id"]
    report = latest_report(ctx.config.training.runs_dir, run_id)
    if report is None:
        where = f"run {run_id}" if run_id else "any run"
        raise UserError(f"no report for {where} in {ctx.config.training.runs_dir}; run `trading-ai train` first")
    render_report(report, Console(), tag=args.tag, folds=args.folds)
    passed = gates_verdict(report)
    print(
        f"verdict: ensemble gates {'PASS' if passed else 'FAIL'} on every pair"
        if passed
        else "verdict: FAIL - the ensemble failed a promotion gate (exit code 1)"
    )
    emit_json(
        args,
        {
            "verdict": "PASS" if passed else "FAIL",
            "tag": args.tag,
            "signals_graded": signals_graded(report),
            "report": report,
        },
    )
    return EXIT_OK if passed else EXIT_FAIL
