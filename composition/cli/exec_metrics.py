"""`trading-ai exec-metrics update | show | rollback`: the measured execution-cost model.

`update --source ohlc` estimates spreads (Corwin-Schultz + Abdi-Ranaldo) and a slippage proxy
from the intraday candles of config data.candles_dir; `update --source broker` records a bid/ask
snapshot per pair into the quote log and measures spreads from the logged quotes and slippage
from the broker's fills, falling back per cell to the current model. Files go to
config data.store_dir (see adapters/execution_metrics/json_store.py).

Broker connections for measuring come from `BROKER_SOURCES` (kind -> factory), so a deployment
registers a read-only connection there; the read-only credentials are config
broker.readonly_login / readonly_password (env MT5_READONLY_LOGIN / MT5_READONLY_PASSWORD),
never the trading ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.execution_metrics.json_store import (
    JsonExecutionMetricsStore,
    JsonlQuoteLog,
    MetricsNotFound,
)
from composition.cli.context import Context
from composition.cli.output import add_json_flag, emit_json
from domain.errors import UserError
from domain.execution_costs import SESSION_ORDER, ExecutionModel
from domain.market import SessionHours, Timeframe
from ports.broker import Broker
from ports.clock import Clock

QUOTE_LOG_NAME = "execution_quotes.jsonl"
MS_PER_DAY = 86_400_000

# kind -> factory(config) -> (broker, clock). Deployments and tests register read-only brokers here.
BrokerSourceFactory = Callable[[Any], tuple[Broker, Clock]]


def _measuring_broker(config: Any) -> tuple[Broker, Clock]:
    # Imported on use: the broker SDKs (MetaTrader5, metaapi, httpx) load only for --source broker.
    from adapters.brokers.factory import make_measuring_broker

    return make_measuring_broker(config)


# paper is deliberately absent: its fills are drawn from the model being measured.
BROKER_SOURCES: dict[str, BrokerSourceFactory] = {kind: _measuring_broker for kind in ("mt5", "shim", "metaapi")}


def register(sub: Any) -> None:
    p = sub.add_parser("exec-metrics", help="measure and manage the execution-cost model (spread, slippage)")
    p.add_argument("--store-dir", metavar="DIR", help="where the metrics files live (default: config data.store_dir)")
    s = p.add_subparsers(dest="exec_metrics_cmd", metavar="ACTION", required=True)

    u = s.add_parser("update", help="measure costs per pair x session and make them current")
    u.add_argument(
        "--source",
        choices=("ohlc", "broker"),
        required=True,
        help="ohlc: estimate from candles; broker: quotes and fills from the broker",
    )
    u.add_argument("--as-of", metavar="DATE", help="date stamp of the file (default: today, UTC)")
    u.add_argument("--timeframe", default="5m", help="candle timeframe for --source ohlc (default 5m)")
    u.add_argument(
        "--lookback-days",
        type=int,
        default=30,
        help="--source broker: fills and logged quotes of the last N days (default 30)",
    )
    u.add_argument(
        "--min-samples",
        type=int,
        default=30,
        help="samples a pair x session needs (default 30); fewer falls back (broker) or fails (ohlc)",
    )
    u.set_defaults(handler=_update)

    sh = s.add_parser("show", help="print the current model (or one date's)")
    sh.add_argument("--date", metavar="DATE", help="show this date's file instead of the current one")
    add_json_flag(sh)
    sh.set_defaults(handler=_show)

    r = s.add_parser("rollback", help="make an earlier date's file current")
    r.add_argument("--to", dest="to", metavar="DATE", required=True, help="YYYY-MM-DD of an existing file")
    r.set_defaults(handler=_rollback)


def _parse_date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"{option} {text!r} is not a date YYYY-MM-DD") from None


def _store(args: argparse.Namespace, ctx: Context) -> JsonExecutionMetricsStore:
    return JsonExecutionMetricsStore(Path(args.store_dir or ctx.config.data.store_dir))


def _hours(ctx: Context) -> SessionHours:
    return SessionHours()


def _update(args: argparse.Namespace, ctx: Context) -> int:
    from services import execution_metrics as svc

    cfg = ctx.config
    store = _store(args, ctx)
    as_of = _parse_date(args.as_of, "--as-of") if args.as_of else dt.datetime.now(dt.UTC).date()
    if as_of > dt.datetime.now(dt.UTC).date():
        raise UserError(f"--as-of {args.as_of} is in the future; the metrics are dated by when they were measured")
    sla = float(cfg.runtime.latency_sla_ms)
    pairs = list(cfg.data.symbols)
    if args.min_samples < 1:
        raise UserError(f"--min-samples must be >= 1, got {args.min_samples}")
    if args.source == "ohlc":
        from composition.candles import cleaned_store

        tf = Timeframe.parse(args.timeframe)
        market = cleaned_store(cfg, [(p, tf) for p in pairs])  # the one data path: the cleaned store
        model = svc.model_from_market_data(
            market, pairs, tf, as_of, hours=_hours(ctx), latency_sla_ms=sla, min_samples=args.min_samples
        )
    else:
        model = _update_from_broker(args, ctx, store, as_of, pairs, sla)
    path = store.save(model)
    ctx.log.info("execution metrics written", extra={"path": str(path), "source": model.source})
    _print_model(model, f"{path} (now current)")
    return 0


def _update_from_broker(
    args: argparse.Namespace,
    ctx: Context,
    store: JsonExecutionMetricsStore,
    as_of: dt.date,
    pairs: list[str],
    sla: float,
) -> ExecutionModel:
    from services import execution_metrics as svc

    kind = ctx.config.broker.kind
    factory = BROKER_SOURCES.get(kind)
    if factory is None and kind == "paper":
        raise UserError(
            "exec-metrics --source broker: the paper broker's quotes and fills are simulated from this very "
            "cost model, so measuring them would be circular; use --source ohlc, or a real broker kind"
        )
    if factory is None:
        known = ", ".join(sorted(BROKER_SOURCES)) or "none"
        raise UserError(
            f"exec-metrics --source broker: no read-only measuring connection is registered for broker kind "
            f"{kind!r} (registered: {known}); use --source ohlc until one is"
        )
    if args.lookback_days < 1:
        raise UserError(f"--lookback-days must be >= 1, got {args.lookback_days}")
    broker, clock = factory(ctx.config)
    since = clock.now_ms() - args.lookback_days * MS_PER_DAY
    log = JsonlQuoteLog(store.directory / QUOTE_LOG_NAME)
    log.append(svc.snapshot_quotes(broker, clock, pairs))
    try:
        fallback: ExecutionModel | None = store.load_current(latency_sla_ms=sla)
    except MetricsNotFound:
        fallback = None
    return svc.model_from_broker(
        pairs,
        svc.fills_since(broker, since, pairs),
        log.read(since),
        as_of,
        fallback=fallback,
        hours=_hours(ctx),
        latency_sla_ms=sla,
        min_samples=args.min_samples,
    )


def _show(args: argparse.Namespace, ctx: Context) -> int:
    store = _store(args, ctx)
    sla = float(ctx.config.runtime.latency_sla_ms)
    if args.date:
        path = store.path_for(_parse_date(args.date, "--date"))
    else:
        path = store.current_file()
    model = store.load_file(path, latency_sla_ms=sla)
    dates = ", ".join(d.isoformat() for d in store.dates())
    _print_model(model, f"{path}; dates stored: {dates or 'none'}")
    emit_json(
        args,
        {
            "file": str(path),
            "dates": [d.isoformat() for d in store.dates()],
            "model": json.loads(Path(path).read_text(encoding="utf-8")),
        },
    )
    return 0


def _rollback(args: argparse.Namespace, ctx: Context) -> int:
    from rich.console import Console

    store = _store(args, ctx)
    path = store.rollback(_parse_date(args.to, "--to"))
    Console().print(f"execution metrics now point at {path}")
    return 0


def _print_model(model: ExecutionModel, where: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    from rich import box

    table = Table(
        title=f"Execution costs (bps) - source: {model.source}, as of {model.as_of.isoformat()}",
        caption=where,
        box=box.SIMPLE_HEAD,  # no vertical rules: the ten columns read at 80 columns
        pad_edge=False,
        padding=(0, 1, 0, 0),
    )
    for col in (
        "pair",
        "session",
        "spread\nmean",
        "spread\np50",
        "spread\np90",
        "CS\nmean",
        "AR\nmean",
        "slip\nmean",
        "slip\np90",
        "samples",
    ):
        table.add_column(col, justify="left" if col in ("pair", "session") else "right")
    for p in sorted(model.profiles, key=lambda p: (p.pair, SESSION_ORDER.index(p.session))):
        comps = p.spread_components
        table.add_row(
            p.pair,
            p.session.value,
            f"{p.spread.mean:.2f}",
            f"{p.spread.p50:.2f}",
            f"{p.spread.p90:.2f}",
            f"{comps['corwin_schultz']:.2f}" if "corwin_schultz" in comps else "-",
            f"{comps['abdi_ranaldo']:.2f}" if "abdi_ranaldo" in comps else "-",
            f"{p.slippage.mean:.3f}",
            f"{p.slippage.p90:.3f}",
            # spread and slippage samples; one number when they are the same
            str(p.spread.count) if p.spread.count == p.slippage.count else f"{p.spread.count}/{p.slippage.count}",
        )
    console.print(table)
    for key, value in model.metadata.items():
        console.print(f"  {key}: {value}", soft_wrap=True)
