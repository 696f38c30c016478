"""`trading-ai demo`: the main job on embedded defaults (real candles, SQLite, paper broker, dry-run)."""

from __future__ import annotations

import argparse
from typing import Any

from composition.cli.context import Context


def register(sub: Any) -> None:
    p = sub.add_parser("demo", help="run the whole pipeline on the bundled real candles (dry-run, SQLite)")
    p.set_defaults(handler=_demo, log_mode="demo")


def _demo(args: argparse.Namespace, ctx: Context) -> int:
    from composition.launchers import run_demo

    return run_demo(ctx)
