"""`trading-ai models list | promote TAG | rollback TAG | check-drift`."""

from __future__ import annotations

import argparse
from typing import Any

from composition.cli.context import Context
from composition.cli.output import add_json_flag, emit_json
from domain.errors import UserError


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="model registry: list, promote, rollback, check-drift")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION")
    ls = msub.add_parser("list", help="registered bundles with headline test figures and gate verdicts")
    add_json_flag(ls)
    ls.set_defaults(handler=handle_list)
    for name, helptext in (
        ("promote", "point models/promoted at TAG (refused if it failed its gates)"),
        ("rollback", "go back to an earlier TAG; the current one is marked rolled back"),
    ):
        a = msub.add_parser(name, help=helptext)
        a.add_argument("tag")
        a.add_argument("--reason", default="", help="why (stored with the deployment record)")
        a.add_argument("--force", action="store_true", help="allow a bundle that failed its gates (logged)")
        a.add_argument("--no-db", action="store_true", help="do not write the deployment record to the database")
        a.set_defaults(handler=handle_promote if name == "promote" else handle_rollback)
    d = msub.add_parser("check-drift", help="the plan's retraining triggers on the most recent bars")
    d.add_argument("--tag", help="bundle to check (default: the promoted one)")
    d.add_argument("--symbols", help="coins to check (default: the bundle's)")
    d.set_defaults(handler=handle_drift)
    p.set_defaults(handler=lambda args, ctx: (p.print_help(), 2)[1])


def _registry(ctx: Context) -> Any:
    from training.registry import FileModelRegistry

    return FileModelRegistry(ctx.config.training.models_dir)


def handle_list(args: argparse.Namespace, ctx: Context) -> int:
    from rich.console import Console
    from rich.table import Table

    reg = _registry(ctx)
    data = reg.load()
    emit_json(
        args,
        {
            "dir": str(reg.dir),
            "current": data.get("current"),
            "models": [{"tag": tag, **data["tags"][tag]} for tag in reg.tags()],
        },
    )
    if not data["tags"]:
        print(f"no models registered in {reg.dir}; run `trading-ai train`")
        return 0
    t = Table(title=f"models in {reg.dir} (current: {data.get('current') or 'none'})")
    for col in ("tag", "created", "deployed", "profile", "tf", "gates", "ensemble test acc per pair", "files"):
        t.add_column(col)
    for tag in reg.tags():
        e = data["tags"][tag]
        accs = ", ".join(
            f"{k.split(':')[1].split('/')[0]} {v['test_accuracy']:.3f}"
            for k, v in e["metrics"].items()
            if k.startswith("ensemble:") and v["test_accuracy"] is not None
        )
        t.add_row(
            ("* " if tag == data.get("current") else "") + tag,
            e["created_at"],
            e["deployed_at"] or "-",
            e.get("profile", "?"),
            e.get("timeframe", "?"),
            "PASS" if e["gates_passed"] else "FAIL",
            accs,
            str(len(e["files"])),
        )
    Console().print(t)
    return 0


def _deployments(ctx: Context, no_db: bool) -> Any:
    if no_db:
        return None
    from adapters.storage.unit_of_work import SqlStorage

    return SqlStorage.open(ctx.config.database.url).deployments


def handle_promote(args: argparse.Namespace, ctx: Context) -> int:
    reg = _registry(ctx)
    reason = args.reason or "manual promotion"
    entry = reg.entry(args.tag)
    reg.promote(args.tag, reason, _deployments(ctx, args.no_db), force=args.force)
    if args.force and not entry["gates_passed"]:
        ctx.log.warning(f"promoted {args.tag} although it FAILED its gates (operator override): {reason}")
    print(f"promoted {args.tag}" + (" (gates overridden with --force)" if not entry["gates_passed"] else ""))
    return 0


def handle_rollback(args: argparse.Namespace, ctx: Context) -> int:
    reg = _registry(ctx)
    reason = args.reason or "manual rollback"
    previous = reg.current()
    entry = reg.entry(args.tag)
    reg.rollback(args.tag, reason, _deployments(ctx, args.no_db), force=args.force)
    if args.force and not entry["gates_passed"]:
        ctx.log.warning(f"rolled back to {args.tag} although it FAILED its gates (operator override): {reason}")
    print(f"rolled back from {previous or 'none'} to {args.tag}")
    return 0


def handle_drift(args: argparse.Namespace, ctx: Context) -> int:
    from composition.training_inputs import load_candles
    from training.drift import check_drift

    reg = _registry(ctx)
    tag = args.tag or reg.current()
    if tag is None:
        raise UserError("no promoted model; give --tag or run `trading-ai models promote TAG`")
    entry = reg.entry(tag)
    symbols = args.symbols or ",".join(entry.get("pairs", []))
    candles, _ = load_candles(ctx.config, symbols, entry.get("timeframe"))
    result = check_drift(ctx.config.training.models_dir, candles, tag=tag)
    fired_any = False
    for pair, triggers in result.items():
        for trig in triggers:
            fired_any |= trig.fired
            print(f"{pair:10s} {trig.name:14s} {'FIRED' if trig.fired else 'ok':6s} {trig.detail}")
    print(f"{tag}: " + ("retraining triggered" if fired_any else "no trigger fired"))
    return 1 if fired_any else 0
