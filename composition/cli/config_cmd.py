"""`trading-ai config show`: the effective configuration, secrets redacted."""

from __future__ import annotations

import argparse
import json
from typing import Any

from composition.cli.context import Context
from composition.config import env_example_text, redacted_dict


def register(sub: Any) -> None:
    p = sub.add_parser("config", help="inspect the effective configuration")
    inner = p.add_subparsers(dest="config_command", metavar="SUBCOMMAND", required=True)
    show = inner.add_parser("show", help="print the effective config (defaults < file < .env < env), secrets redacted")
    show.add_argument("--json", action="store_true", help="print JSON instead of TOML-like text")
    show.set_defaults(handler=_show)
    example = inner.add_parser("env-example", help="print the documented .env.example for the current code")
    example.set_defaults(handler=_env_example)


def _show(args: argparse.Namespace, ctx: Context) -> int:
    data = redacted_dict(ctx.config)
    if args.json:
        print(json.dumps(data, indent=2))
        return 0
    top = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for key, value in top.items():
        print(f"{key} = {json.dumps(value)}")
    for section, values in data.items():
        if isinstance(values, dict):
            print(f"\n[{section}]")
            for key, value in values.items():
                print(f"{key} = {json.dumps(value)}")
    return 0


def _env_example(args: argparse.Namespace, ctx: Context) -> int:
    print(env_example_text(), end="")
    return 0
