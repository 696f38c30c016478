"""The `trading-ai` command line.

Each command group lives in its own module here and exposes `register(subparsers)`; handlers take
`(args, ctx)` and return an exit code. User mistakes (`domain.errors.UserError`) become one line on
stderr and exit code 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from composition.cli import output
from composition.cli.context import Context, build_context
from domain.errors import UserError

# Order is the order shown in --help. Each name is a module composition/cli/<name>.py.
GROUPS: tuple[str, ...] = (
    "demo",
    "config_cmd",
    "data",
    "features",
    "train",
    "evaluate",
    "models",
    "backtest",
    "challenge",
    "tune",
    "research",
    "exec_metrics",
    "run",
    "observe",
    "events",
    "db",
    "export",
    "plugins",
    "sentiment",
    "rl",
    "gan",
    "completion",
)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error already; keep its message to one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"trading-ai: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="trading-ai", description="Calibrated crypto signals under FTMO risk rules.")
    parser.add_argument("--config", metavar="PATH", help="TOML config file (defaults < file < .env < environment)")
    parser.add_argument("--env-file", metavar="PATH", default=".env", help="dotenv file to read (default .env)")
    parser.add_argument("--version", action="version", version=f"trading-ai {output.version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in GROUPS:
        module = importlib.import_module(f"composition.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        ctx: Context = build_context(args)
        with output.json_mode(args):  # --json: human output to stderr, one JSON document on stdout
            return int(handler(args, ctx) or 0)
    except UserError as exc:
        print(f"trading-ai: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("trading-ai: interrupted", file=sys.stderr)
        return 130


def entrypoint() -> None:
    sys.exit(main())
