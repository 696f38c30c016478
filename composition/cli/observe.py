"""`trading-ai observe`: judge a dry-run period (`report`) and the micro-lot acceptance gate (`acceptance`)."""

from __future__ import annotations

import importlib
from typing import Any

# Each subcommand lives in its own module exposing `register(inner_subparsers)`.
SUBCOMMANDS = ("observe_report", "observe_acceptance")


def register(sub: Any) -> None:
    p = sub.add_parser("observe", help="score a dry-run observation period; the micro-lot acceptance gate")
    inner = p.add_subparsers(dest="observe_command", metavar="SUBCOMMAND", required=True)
    for name in SUBCOMMANDS:
        importlib.import_module(f"composition.cli.{name}").register(inner)
