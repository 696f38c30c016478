"""`trading-ai run`: the scanning service in dry-run or live, or a dry-run replayed over history."""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from composition.cli.context import Context
from domain.errors import UserError

if TYPE_CHECKING:  # composition.containers pulls dependency-injector; loaded when the command runs
    from composition.containers import RunOptions


def register(sub: Any) -> None:
    p = sub.add_parser("run", help="run the scanning service (dry-run or live; --replay-from replays history)")
    p.add_argument(
        "--mode", dest="log_mode", choices=("dryrun", "live"), default="dryrun", help="dryrun (default) or live"
    )
    p.add_argument(
        "--replay-from",
        metavar="DATE",
        help="replay the bundled real candles from DATE (a dry-run recorded under mode replay)",
    )
    p.add_argument("--replay-to", metavar="DATE", help="last day of the replay (default: end of the candles)")
    p.add_argument("--speed", default="max", help="replay speed: 'max' or a factor such as 60 (default max)")
    p.add_argument("--cycles", type=int, metavar="N", help="stop after N cycles")
    p.add_argument("--broker", choices=("paper", "shim", "mt5", "metaapi", "mock"), help="override config broker.kind")
    p.add_argument("--shim-url", metavar="URL", help="REST shim base URL (with --broker shim)")
    p.add_argument("--database-url", metavar="URL", help="override DATABASE_URL")
    p.add_argument(
        "--cost-model",
        choices=("empirical", "fixed"),
        default="empirical",
        help="paper-broker costs: measured (exec-metrics) or fixed with --spread-bps/--slippage-bps",
    )
    p.add_argument("--spread-bps", type=float)
    p.add_argument("--slippage-bps", type=float)
    p.add_argument("--no-health", action="store_true", help="do not serve /healthz")
    p.add_argument("--health-port", type=int, help="override runtime.health_port (0 = any free port)")
    p.add_argument(
        "--dashboard-port",
        type=int,
        metavar="PORT",
        help="serve the live dashboard on 127.0.0.1:PORT (0 = any free port, -1 = off; "
        "default DASHBOARD_PORT); the URL with its token is printed at start",
    )
    p.add_argument("--quiet-signals", action="store_true", help="do not print each signal (console notifier)")
    p.add_argument(
        "--allow-ungated-model",
        action="store_true",
        help="live only: run on a model that did not pass its gates (logged)",
    )
    p.set_defaults(handler=_run)


def _options(args: argparse.Namespace) -> RunOptions:
    from composition.containers import RunOptions, parse_date_ms

    replay_from = parse_date_ms(args.replay_from, "--replay-from") if args.replay_from else None
    replay_to = parse_date_ms(args.replay_to, "--replay-to") if args.replay_to else None
    if replay_to is not None and replay_from is None:
        raise UserError("--replay-to needs --replay-from")
    if replay_to is not None and replay_from is not None and replay_to < replay_from:
        raise UserError(f"--replay-to {args.replay_to} is before --replay-from {args.replay_from}")
    speed: float | None = None
    if str(args.speed).lower() != "max":
        try:
            speed = float(args.speed)
        except ValueError:
            raise UserError(f"--speed {args.speed!r}: expected 'max' or a positive number") from None
        if not math.isfinite(speed) or speed <= 0:
            raise UserError(f"--speed {args.speed!r}: expected 'max' or a positive finite number")
    if args.cycles is not None and args.cycles < 1:
        raise UserError("--cycles must be at least 1")
    if args.shim_url and (args.broker or "shim") != "shim":
        raise UserError("--shim-url only applies to --broker shim")
    return RunOptions(
        mode=args.log_mode,
        replay_from_ms=replay_from,
        replay_to_ms=replay_to,
        speed=speed,
        broker=args.broker or ("shim" if args.shim_url else None),
        shim_url=args.shim_url,
        cycles=args.cycles,
        database_url=args.database_url,
        cost_model=args.cost_model,
        spread_bps=args.spread_bps,
        slippage_bps=args.slippage_bps,
        health=not args.no_health,
        health_port=args.health_port,
        dashboard_port=args.dashboard_port,
        console_signals=not args.quiet_signals and replay_from is None,
        allow_ungated_model=args.allow_ungated_model,
    )


def _day(ms: int | None) -> str:
    return "-" if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _run(args: argparse.Namespace, ctx: Context) -> int:
    from composition.launchers import run_dryrun, run_live

    options = _options(args)
    launcher = run_live if options.mode == "live" else run_dryrun
    s = launcher(ctx.config, options, ctx.log)

    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"{s.mode} run: {_day(s.start_ms)} -> {_day(s.end_ms)} UTC")  # a replay's mode is `replay`
    t.add_column("what")
    t.add_column("value", justify="right")
    rows = [
        ("cycles (failed, skipped ticks)", f"{s.cycles} ({s.failed}, {s.skipped_ticks})"),
        ("signals emitted", str(s.signals)),
        ("  by tier", ", ".join(f"{k} {v}" for k, v in sorted(s.tiers.items())) or "-"),
        ("blocks", ", ".join(f"{k} {v}" for k, v in sorted(s.blocks.items())) or "-"),
        ("closed W/L (open)", f"{s.wins}/{s.losses} ({s.open_trades} open)"),
        ("R realised", f"{s.r_total:+.2f}"),
        ("alerts", ", ".join(f"{k} {v}" for k, v in sorted(s.alerts.items())) or "none"),
        ("cycle p50 / p99", f"{s.cycle_p50_ms:.1f} / {s.cycle_p99_ms:.1f} ms"),
        ("wall time", f"{s.wall_s:.1f} s"),
        ("models", s.models),
        ("database", s.database),
        ("JSON log", s.log_file or "(stderr only; set LOG_FILE to keep it)"),
    ]
    from composition.redaction import redact_text

    for k, v in rows:  # every value through the redactor: the table is printed, not logged
        t.add_row(k, redact_text(v))
    Console().print(t)
    return s.exit_code if s.failed == 0 else 1
