"""`trading-ai export --date D`: that day's JSON log events and risk-book rows to parquet (nightly via cron)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from composition.cli.context import Context
from composition.cli.logread import event_ms, log_path, read_events
from domain.market import MS_PER_DAY

COMMON = (
    "ts",
    "level",
    "event",
    "mode",
    "pair",
    "tier",
    "conf",
    "entry",
    "tp",
    "sl",
    "rr",
    "lat_ms",
    "spread_bps",
    "slip_bps",
    "reason",
    "result",
    "r",
    "kind",
    "signal_id",
    "at_ms",
)


def register(sub: Any) -> None:
    p = sub.add_parser("export", help="write one day's log events and risk-book rows to parquet")
    p.add_argument("--date", required=True, metavar="YYYY-MM-DD", help="UTC day to export")
    p.add_argument("--log", metavar="PATH", help="JSON log file (default: config logging.file / LOG_FILE)")
    p.add_argument("--out", metavar="DIR", default="exports", help="output folder (default exports/)")
    p.set_defaults(handler=_export)


def _export(args: argparse.Namespace, ctx: Context) -> int:
    import pandas as pd
    import sqlalchemy as sa

    from adapters.storage.engine import open_engine
    from composition.containers import parse_date_ms

    start = parse_date_ms(args.date, "--date")
    end = start + MS_PER_DAY
    rows: list[dict[str, Any]] = []
    for e in read_events(log_path(args.log, ctx.config.logging.file)):
        t = event_ms(e)
        if start <= t < end:
            row = {k: e.get(k) for k in COMMON}
            row["at_ms"] = t
            row["ctx"] = json.dumps({k: v for k, v in e.items() if k not in COMMON}, default=str)
            rows.append(row)
    events = pd.DataFrame(rows, columns=[*COMMON, "ctx"])
    for col in ("conf", "entry", "tp", "sl", "rr", "lat_ms", "spread_bps", "slip_bps", "r"):
        events[col] = pd.to_numeric(events[col], errors="coerce")
    for col in ("ts", "level", "event", "mode", "pair", "tier", "reason", "result", "kind", "signal_id"):
        events[col] = events[col].astype("string")
    engine = open_engine(ctx.config.database.url)
    with engine.connect() as conn:
        book = pd.read_sql(
            sa.text(
                "SELECT * FROM risk_book WHERE entry_time >= :a AND entry_time < :b ORDER BY entry_time, signal_id"
            ),
            conn,
            params={"a": start, "b": end},
        )
    engine.dispose()
    out = Path(args.out) / args.date
    out.mkdir(parents=True, exist_ok=True)
    events.to_parquet(out / "events.parquet", index=False)
    book.to_parquet(out / "risk_book.parquet", index=False)
    counts = events["event"].value_counts().to_dict() if len(events) else {}
    print(
        f"{args.date}: {len(events)} log events ({', '.join(f'{k} {v}' for k, v in sorted(counts.items())) or '-'})"
        f" -> {out / 'events.parquet'}"
    )
    print(f"{args.date}: {len(book)} risk-book rows -> {out / 'risk_book.parquet'}")
    ctx.log.info(
        "export_done",
        extra={"ctx": {"date": args.date, "events": len(events), "risk_book": len(book), "out": str(out)}},
    )
    return 0
