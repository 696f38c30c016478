"""`trading-ai demo`: the main job on embedded defaults (real candles, SQLite, paper broker, dry-run)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from composition.cli.context import Context


def register(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="the whole V1 story on the real candles: import, costs, features, "
        "quick training, gate table, replayed dry-run, backtest report",
    )
    p.add_argument("--replay-days", type=int, default=2, help="days of the replayed dry-run (default 2)")
    p.add_argument("--timeframe", default="5m", help="candle timeframe (default 5m)")
    p.set_defaults(handler=_demo, log_mode="demo")


def _demo(args: argparse.Namespace, ctx: Context) -> int:
    from composition.cli import main
    from composition.demo import run_demo

    prefix: list[str] = []
    if args.config:
        prefix += ["--config", args.config]
    prefix += ["--env-file", args.env_file]

    def run_cli(argv: Sequence[str]) -> int:
        try:
            return main([*prefix, *argv])
        except SystemExit as exc:  # argparse usage errors exit; the demo reports them as a failed step
            return exc.code if isinstance(exc.code, int) else 2

    return run_demo(ctx, run_cli, replay_days=args.replay_days, timeframe=args.timeframe)
