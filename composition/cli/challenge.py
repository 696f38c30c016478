"""`trading-ai challenge simulate`: FTMO challenge attempts, each day run through the backtest kernel."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from composition.cli.context import Context
from composition.cli.output import EXIT_FAIL, EXIT_OK, add_json_flag, add_model_argument, emit_json, progress_bar
from domain.errors import UserError


def register(sub: Any) -> None:
    p = sub.add_parser(
        "challenge", help="FTMO challenge simulation: attempts run day by day through the backtest kernel"
    )
    csub = p.add_subparsers(dest="challenge_command", metavar="SUBCOMMAND")
    s = csub.add_parser("simulate", help="historical rolling starts + day-block bootstrap; pass rate, breaches")
    s.add_argument("--runs", type=int, default=20, help="attempts per method (default 20)")
    s.add_argument("--one-step", action="store_true", help="one-step rules instead of two-step")
    s.add_argument("--timeframe", default=None, help="candle timeframe (default: data.timeframe)")
    s.add_argument("--max-days", type=int, default=60, help="calendar days an attempt may take (default 60)")
    s.add_argument("--block-days", type=int, default=5, help="bootstrap block length in days (default 5)")
    s.add_argument("--cost-model", choices=("empirical", "fixed"), default=None)
    s.add_argument("--spread-bps", type=float, default=None)
    s.add_argument("--slippage-bps", type=float, default=None)
    add_model_argument(s)
    add_json_flag(s)
    s.set_defaults(handler=_simulate, log_mode="backtest")
    p.set_defaults(handler=_usage)


def _usage(args: argparse.Namespace, ctx: Context) -> int:
    raise UserError("usage: trading-ai challenge simulate [--runs N] [--one-step]")


MAX_RUNS = 100_000


def _simulate(args: argparse.Namespace, ctx: Context) -> int:
    from functools import partial

    import attrs
    from rich.console import Console
    from rich.table import Table

    from adapters.execution_metrics.cost_model import load_cost_model
    from composition.model_choice import challenge_engine_config, choose_model, load_pairs, print_model
    from domain.backtest.engine import prepare
    from domain.challenge import Attempt, ChallengeSettings, KernelDays, run_attempts
    from domain.challenge import summarise as summarise_attempts
    from domain.market import Timeframe

    if not 1 <= args.runs <= MAX_RUNS:
        raise UserError(
            f"--runs must be 1 to {MAX_RUNS} (each attempt keeps its equity path in memory), got {args.runs}"
        )
    if args.max_days < 1 or args.block_days < 1:
        raise UserError(f"--max-days and --block-days must be at least 1, got {args.max_days} and {args.block_days}")
    config = ctx.config
    b = config.backtest
    kind = args.cost_model or b.cost_model
    spread = args.spread_bps if args.spread_bps is not None else (b.spread_bps if b.spread_bps >= 0 else None)
    slip = args.slippage_bps if args.slippage_bps is not None else (b.slippage_bps if b.slippage_bps >= 0 else None)
    costs = load_cost_model(config, kind, spread, slip)
    model = choose_model(config, args.model)
    cfg = challenge_engine_config(config, args.one_step, model)
    pairs = load_pairs(config, Timeframe.parse(args.timeframe or config.data.timeframe), model)
    print_model(model, pairs)
    t0 = min(int(p.bars.ts[0]) for p in pairs)
    t1 = max(int(p.bars.ts[-1]) for p in pairs)
    days = KernelDays.build(prepare(pairs, cfg, costs), t0, t1)
    settings = ChallengeSettings(rules=cfg.rules, max_days=args.max_days, block_days=args.block_days)
    found: dict[str, list[Attempt]] = {}
    with progress_bar() as progress:
        for method, total in (("historical", min(args.runs, days.n_days)), ("bootstrap", args.runs)):
            task = progress.add_task(f"{method} attempts over {days.n_days} days", total=total)
            rng = np.random.default_rng(config.seed)
            found[method] = run_attempts(days, method, args.runs, settings, rng, partial(progress.advance, task))
    hist_attempts, boot_attempts = found["historical"], found["bootstrap"]
    hist = summarise_attempts("historical", hist_attempts, cfg.rules)
    boot = summarise_attempts("bootstrap", boot_attempts, cfg.rules)
    t = Table(
        title=f"FTMO {cfg.rules.kind.value} challenge simulation over {days.n_days} historical days, each run "
        f"through the backtest kernel, model {model.description}, {costs.description}"
    )
    t.add_column("figure")
    for s in (hist, boot):
        t.add_column(s.method, justify="right")

    def f(v: float) -> str:
        return "n/a" if v != v else f"{v:.2f}"

    t.add_row("runs", *(str(s.runs) for s in (hist, boot)))
    t.add_row("pass rate", *(f"{s.pass_rate:.0%}" for s in (hist, boot)))
    t.add_row("avg days to pass", *(f(s.avg_days_to_pass) for s in (hist, boot)))
    t.add_row("avg trading days to pass", *(f(s.avg_trading_days_to_pass) for s in (hist, boot)))
    for o in ("daily_loss", "max_loss", "timeout", "end_of_data"):
        label = f"breaches: {o}" if o in ("daily_loss", "max_loss") else f"not passed: {o}"
        t.add_row(label, *(str(dict(s.outcomes)[o]) for s in (hist, boot)))
    t.add_row("best-day share (mean)", *(f(s.best_day_share_mean) for s in (hist, boot)))
    t.add_row("guardrail violations (our buffers)", *(str(s.guardrail_violations) for s in (hist, boot)))
    t.add_row("gate: pass rate >= 70%", *("PASS" if s.gate_pass_rate else "FAIL" for s in (hist, boot)))
    t.add_row("gate: zero guardrail violations", *("PASS" if s.gate_guardrails else "FAIL" for s in (hist, boot)))
    Console().print(t)
    passed = all(s.gate_pass_rate and s.gate_guardrails for s in (hist, boot))
    from pathlib import Path

    from adapters.reports.challenge_report import write_challenge_report

    report = write_challenge_report(
        Path(b.reports_dir) / f"challenge-{cfg.rules.kind.value}",
        str(t.title),
        [(hist, hist_attempts), (boot, boot_attempts)],
        cfg.rules,
    )
    print(f"report: {report}")
    print(
        f"verdict: {'PASS' if passed else 'FAIL'} (both methods must clear both gates; exit code "
        f"{EXIT_OK if passed else EXIT_FAIL})"
    )
    emit_json(
        args,
        {
            "verdict": "PASS" if passed else "FAIL",
            "model": model.description,
            "costs": costs.description,
            "rules": cfg.rules.kind.value,
            "days": days.n_days,
            "report": str(report),
            "methods": {
                s.method: {
                    **attrs.asdict(s),
                    "outcomes": dict(s.outcomes),
                    "gate_pass_rate": s.gate_pass_rate,
                    "gate_guardrails": s.gate_guardrails,
                    "attempts": [
                        {**attrs.asdict(a, filter=lambda f, v: f.name != "path"), "days_replayed": len(a.path)}
                        for a in attempts
                    ],
                }
                for s, attempts in ((hist, hist_attempts), (boot, boot_attempts))
            },
        },
    )
    return EXIT_OK if passed else EXIT_FAIL
