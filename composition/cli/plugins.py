"""`trading-ai plugins list [--json]`: each plugin found through the `trading_ai.plugins` entry
points, its version, the hooks it implements and whether it is enabled (or not installed)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from composition.cli.context import Context


def register(sub: Any) -> None:
    p = sub.add_parser("plugins", help="V2 plugins (sentiment, rl, gan): what is installed and enabled")
    inner = p.add_subparsers(dest="plugins_command", metavar="ACTION")
    ls = inner.add_parser("list", help="each plugin, its version, hooks and whether it is enabled")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ls.set_defaults(handler=handle_list)
    p.set_defaults(handler=lambda args, ctx: (p.print_help(), 2)[1])


def handle_list(args: argparse.Namespace, ctx: Context) -> int:
    from composition.runtime.plugins import discover, weights_with_plugins

    host = discover(ctx.config, ctx.log)
    rows = [i.as_dict() for i in host.infos()]
    weights = weights_with_plugins(ctx.config, host.enabled_names()).as_dict()
    if args.json:
        print(json.dumps({"plugins": rows, "ensemble_weights": weights}, indent=2))
        return 0
    if not rows:
        print("no plugins found in the trading_ai.plugins entry-point group (pip install -e .[sentiment])")
    else:
        width = max(len(r["name"]) for r in rows)
        print(f"{'plugin':<{width}}  {'version':<8}  {'status':<13}  hooks")
        for r in rows:
            hooks = ", ".join(h.removeprefix("trading_ai_") for h in r["hooks"]) or "-"
            print(f"{r['name']:<{width}}  {r['version'] or '-':<8}  {r['status']:<13}  {hooks}")
            if r["detail"]:
                print(f"{'':<{width}}  {r['detail']}")
    shown = ", ".join(f"{k}={v:g}" for k, v in sorted(weights.items()))
    print(f"ensemble weights with every enabled plugin serving: {shown}")
    return 0
