"""`trading-ai data fetch | import | status`: the raw candle store.

- `fetch`: Binance spot via ccxt into `<data.store_dir>/raw/binance`, all symbols in parallel,
  resuming after the last stored bar (only new bars are appended).
- `import`: the bundled real candles (config `data.candles_dir`) cleaned into the same store under
  `data.conflict_policy` (refuse | keep-first | drop-bar), with a data-quality report: counts and
  every finding located by kind and bar (printed tables + `quality.json` beside the files).
- `status`: per symbol/timeframe coverage, rows, last bar and the gaps (exchange outages).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from composition.cli.context import Context
from composition.cli.output import progress_bar
from domain.errors import UserError
from domain.market import Timeframe, validate_symbol

# ccxt (about a second), pyarrow and rich load inside the handlers that use them, so that
# building the parser (every `trading-ai` call, `--help` included) stays cheap.
if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from adapters.market_data.parquet_store import ParquetCandleStore
    from domain.cleaning import QualityReport


def register(sub: Any) -> None:
    p = sub.add_parser("data", help="fetch, import and inspect raw candles")
    p.add_argument("--store-dir", metavar="DIR", help="data root (default: config data.store_dir)")
    s = p.add_subparsers(dest="data_cmd", metavar="ACTION", required=True)

    f = s.add_parser("fetch", help="download Binance spot candles (resumes after the last stored bar)")
    f.add_argument("--symbols", help="comma-separated pairs (default: config data.symbols)")
    f.add_argument("--timeframe", default="1m", help="candle timeframe (default 1m)")
    f.add_argument("--since", help="first day YYYY-MM-DD when nothing is stored (default: config data.fetch_since)")
    f.add_argument("--api-url", help="Binance REST base URL (default api.binance.com; tests point it at a fake)")
    f.add_argument("--retries", type=int, default=5, help="retries per request before giving up (default 5)")
    f.set_defaults(handler=_fetch)

    i = s.add_parser("import", help="clean the bundled real candles into the raw store, with a quality report")
    i.add_argument("--candles-dir", help="bundled parquet folder (default: config data.candles_dir)")
    i.add_argument("--json", action="store_true", help="print the quality report as JSON instead of a table")
    i.set_defaults(handler=_import)

    st = s.add_parser("status", help="coverage, rows, last bar and gaps per symbol/timeframe")
    st.add_argument(
        "--source", choices=("store", "bundled"), default="store", help="the raw store (default) or the bundled files"
    )
    st.add_argument("--json", action="store_true", help="print JSON instead of tables")
    st.set_defaults(handler=_status)


def store_of(args: argparse.Namespace, ctx: Context) -> ParquetCandleStore:
    from adapters.market_data.parquet_store import ParquetCandleStore

    return ParquetCandleStore(getattr(args, "store_dir", None) or ctx.config.data.store_dir, ctx.config.data.exchange)


def _utc(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M")


def _parse_day(text: str) -> int:
    try:
        d = dt.datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=dt.UTC)
    except ValueError as exc:
        raise UserError(f"invalid date {text!r}; expected YYYY-MM-DD such as 2020-01-01") from exc
    return int(d.timestamp() * 1000)


def _symbols(text: str | None, default: tuple[str, ...]) -> list[str]:
    raw = [s for s in (text.split(",") if text else default) if s.strip()]
    return [validate_symbol(s) for s in raw]


def _out() -> Console:
    """Tables on stdout; wide enough to stay readable when piped (rich assumes 80 columns then)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


# ---------------------------------------------------------------------------------- fetch


def _fetch(args: argparse.Namespace, ctx: Context) -> int:
    from rich.console import Console
    from rich.table import Table

    from adapters.market_data.binance_ccxt import BinanceCcxtMarketData, FetchSettings

    console = Console(stderr=True)
    store = store_of(args, ctx)
    symbols = _symbols(args.symbols, ctx.config.data.symbols)
    since = _parse_day(args.since or ctx.config.data.fetch_since)
    settings = FetchSettings(api_url=args.api_url or None, max_retries=max(0, args.retries))
    adapter = BinanceCcxtMarketData(store, settings)
    tf_text = str(args.timeframe).strip()
    try:
        tf_ms: int | None = Timeframe.parse(tf_text).ms
    except UserError:
        tf_ms = None  # the adapter reports unknown timeframes with Binance's valid list
    with progress_bar(console) as progress:
        tasks: dict[str, Any] = {}
        for s in symbols:
            last = store.last_ts(s, Timeframe.parse(tf_text)) if tf_ms else None
            start = since if last is None else last + (tf_ms or 0)
            now_ms = int(dt.datetime.now(tz=dt.UTC).timestamp() * 1000)
            expected = max(1, (now_ms - start) // tf_ms) if tf_ms else None
            tasks[s] = progress.add_task(f"{s} {tf_text}", total=expected)

        def on_page(symbol: str, bars: int, _last: int) -> None:
            progress.update(tasks[symbol], completed=bars)

        results = adapter.update(symbols, tf_text, since, progress=on_page)
        for r in results:
            progress.update(tasks[r.symbol], total=max(1, r.added), completed=max(1, r.added))
    table = Table(title=f"fetched into {store.root}")
    for col in ("symbol", "timeframe", "new bars", "rows", "first new bar", "last bar"):
        table.add_column(col)
    for r in results:
        table.add_row(r.symbol, r.timeframe, str(r.added), str(r.rows), _utc(r.first_new_ms), _utc(r.last_ms))
    _out().print(table)
    if adapter.retries:
        ctx.log.info("fetch needed %d retried requests", adapter.retries)
    return 0


# ---------------------------------------------------------------------------------- import


def _quality_table(reports: list[QualityReport], title: str) -> Table:
    from rich.table import Table

    table = Table(title=title)
    for col in (
        "symbol",
        "tf",
        "rows",
        "first bar",
        "last bar",
        "dupes",
        "conflicts",
        "out of order",
        "dropped",
        "ohlc bad",
        "zero vol",
        "spikes",
        "gaps",
        "missing bars",
    ):
        table.add_column(col, justify="right" if col not in ("symbol", "tf", "first bar", "last bar") else "left")
    for r in reports:
        table.add_row(
            r.symbol,
            r.timeframe,
            f"{r.rows_out:,}",
            _utc(r.first_ms),
            _utc(r.last_ms),
            str(r.duplicates),
            str(r.conflicting_duplicates),
            str(r.out_of_order),
            str(r.dropped_invalid + r.dropped_bars),
            str(r.ohlc_violations),
            str(r.zero_volume),
            str(r.spikes),
            str(len(r.gaps)),
            str(r.missing_bars),
        )
    return table


def _findings_table(reports: list[QualityReport]) -> Table:
    """Every located finding (kind, bar, what was seen and done), in report order."""
    from rich.table import Table

    table = Table(title="findings (bar open time UTC; nothing filled, nothing overwritten silently)")
    for col in ("symbol", "tf", "kind", "bar", "detail"):
        table.add_column(col)
    for r in reports:
        for f in r.findings:
            table.add_row(r.symbol, r.timeframe, f.kind, _utc(f.ts), f.detail)
    return table


def _import(args: argparse.Namespace, ctx: Context) -> int:
    from composition.candles import import_pairs

    store = store_of(args, ctx)
    with progress_bar() as progress:
        task = progress.add_task("importing", total=None)
        reports = import_pairs(ctx.config, store, None, args.candles_dir, on_done=lambda _r: progress.advance(task))
    out = store.quality_path
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=1))
    else:
        console = _out()
        console.print(
            _quality_table(
                reports, f"imported {len(reports)} files into {store.root} (policy {ctx.config.data.conflict_policy})"
            )
        )
        if any(r.findings for r in reports):
            console.print(_findings_table(reports))
        print(f"quality report: {out}")
    return 0


# ---------------------------------------------------------------------------------- status


def _status(args: argparse.Namespace, ctx: Context) -> int:
    from rich.table import Table

    from adapters.market_data.bundled import BundledCandles
    from domain.cleaning import quality_report

    if args.source == "bundled":
        bundled = BundledCandles(ctx.config.data.candles_dir)
        entries = [(s, tf) for s in bundled.symbols() for tf in bundled.timeframes_of(s)]
        load = bundled.candles
        where = str(bundled.directory)
    else:
        store = store_of(args, ctx)
        entries = store.entries()
        load = store.candles
        where = str(store.root)
        if not entries:
            raise UserError(f"no candles in {where}; run `trading-ai data import` or `trading-ai data fetch`")
    reports = [quality_report(load(s, tf)) for s, tf in entries]
    if args.json:
        print(json.dumps([r.to_dict() for r in reports], indent=1))
        return 0
    console = _out()
    cov = Table(title=f"candles in {where}")
    for col in ("symbol", "tf", "rows", "first bar", "last bar", "coverage", "gaps", "missing bars"):
        cov.add_column(col)
    for r in reports:
        pct = 100.0 * r.rows_out / r.expected_rows if r.expected_rows else 0.0
        cov.add_row(
            r.symbol,
            r.timeframe,
            f"{r.rows_out:,}",
            _utc(r.first_ms),
            _utc(r.last_ms),
            f"{pct:.3f}%",
            str(len(r.gaps)),
            str(r.missing_bars),
        )
    console.print(cov)
    gaps = Table(title="gaps (bars missing at the exchange; never filled)")
    for col in ("symbol", "tf", "first missing bar", "next bar", "missing bars"):
        gaps.add_column(col)
    for r in reports:
        for g in r.gaps:
            gaps.add_row(r.symbol, r.timeframe, _utc(g.first_missing_ms), _utc(g.before_ms), str(g.missing_bars))
    if gaps.row_count:
        console.print(gaps)
    else:
        console.print("no gaps")
    return 0
