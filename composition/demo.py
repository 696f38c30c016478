"""`trading-ai demo`: the whole V1 story on the embedded defaults, as a user would run it by hand.

Each step is the very CLI command a user runs (same code, same config), executed in this process:
import the real candles -> measure execution costs -> build features -> a quick training run and
its gate table -> a replayed dry-run that writes signals to SQLite -> a backtest HTML report.
It ends with where each output is. Nothing here computes anything of its own.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from rich.console import Console
from rich.rule import Rule
from rich.table import Table

from composition.cli.context import Context
from domain.errors import UserError
from domain.signals import Mode

DEMO_LOG = "var/logs/demo.jsonl"


@attrs.frozen
class Step:
    title: str
    argv: tuple[str, ...]
    why: str
    verdict: bool = False  # exit 1 is a FAIL verdict (README "Exit codes"): shown, and the demo goes on


@attrs.frozen
class DemoPorts:
    """Where the replayed dry-run serves /healthz (any free port) and the dashboard (picked free here,
    so the demo can name its URL at the end)."""

    dashboard_port: int
    dashboard_token: str

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}/?token={self.dashboard_token}"


def free_port() -> int:
    """A port nobody listens on now (the OS picks it), on 127.0.0.1."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_ports() -> DemoPorts:
    import secrets

    # DASHBOARD_TOKEN from the environment wins; otherwise one for this demo (the steps read it back)
    token = os.environ.setdefault("DASHBOARD_TOKEN", secrets.token_urlsafe(12))
    return DemoPorts(free_port(), token)


def demo_steps(ctx: Context, replay_days: int, timeframe: str, ports: DemoPorts | None = None) -> list[Step]:
    cfg = ctx.config
    symbols = ",".join(cfg.data.symbols)
    last_bar, bundled = _last_bar_date(ctx, cfg.data.symbols[0], timeframe)
    replay_from = (last_bar - timedelta(days=replay_days)).strftime("%Y-%m-%d")
    serve = ("--health-port", "0") + (("--dashboard-port", str(ports.dashboard_port)) if ports else ())
    first = (
        [
            Step(
                "Import the real candles",
                ("data", "import"),
                "bundled Binance candles, cleaned into the raw store with a data-quality report",
            )
        ]
        if bundled
        else []
    )
    return [
        *first,
        Step("Data status", ("data", "status"), "coverage, rows, last bar and the exchange outages as gaps"),
        Step(
            "Execution costs",
            ("exec-metrics", "update", "--source", "ohlc"),
            "spread/slippage distributions per pair and session, estimated from OHLC (no broker yet)",
        ),
        Step(
            "Features",
            ("features", "build", "--timeframe", timeframe),
            "the one feature code path for training, backtest and live, cached by version",
        ),
        Step(
            "Quick training",
            ("train", "--symbols", symbols, "--timeframe", timeframe, "--quick"),
            "a small walk-forward run on the real candles (the full one: trading-ai train)",
            verdict=True,
        ),
        Step(
            "Gate table",
            ("evaluate",),
            "out-of-sample figures next to the baselines; failing gates say why",
            verdict=True,
        ),
        Step(
            "Database schema",
            ("db", "upgrade"),
            "create or migrate the SQLite schema (the runtime refuses an outdated one; only this migrates)",
        ),
        Step(
            "Replayed dry-run",
            ("run", "--mode", "dryrun", "--replay-from", replay_from, "--speed", "max", *serve),
            f"the live scan service over the last {replay_days} days of real {timeframe} candles "
            "(health on a free port, the dashboard beside it)",
        ),
        Step(
            "Backtest report",
            ("backtest", "--timeframe", timeframe, "--run-name", "demo"),
            "the same scan rules in batch form over the backtest period, with the measured costs",
        ),
    ]


def _last_bar_date(ctx: Context, symbol: str, timeframe: str) -> tuple[datetime, bool]:
    """(the date of the last real bar, whether it comes from the bundled folder), so the replay covers
    real data whatever today is. Without the bundled folder (a fresh machine without ../shared), the
    candles `trading-ai data fetch` stored are used."""
    from adapters.market_data.parquet_store import ParquetCandleStore
    from domain.market import Timeframe

    cfg = ctx.config
    tf = Timeframe.parse(timeframe)
    if Path(cfg.data.candles_dir).is_dir():
        from adapters.market_data.bundled import BundledCandles

        last = BundledCandles(cfg.data.candles_dir).candles(symbol, tf).last_ts
        if last is not None:
            return datetime.fromtimestamp(last / 1000, UTC), True
    last = ParquetCandleStore(cfg.data.store_dir, cfg.data.exchange).last_ts(symbol, tf)
    if last is None:
        raise UserError(
            f"no {timeframe} candles of {symbol}: neither bundled in {cfg.data.candles_dir} nor fetched "
            f"into {cfg.data.store_dir}; on a fresh machine run `trading-ai data fetch --timeframe "
            f"{timeframe} --since 2025-01-01` (and `--timeframe 1h --since 2024-01-01`) first"
        )
    return datetime.fromtimestamp(last / 1000, UTC), False


def run_demo(
    ctx: Context,
    run_cli: Callable[[Sequence[str]], int],
    *,
    replay_days: int = 2,
    timeframe: str = "5m",
    console: Console | None = None,
) -> int:
    # Piped output (make demo | tee, CI logs) gets a fixed width instead of rich's 80 columns.
    console = console or Console(width=None if sys.stdout.isatty() else 120)
    # Every step's JSON log lines go to a file; the console shows the tables and warnings only.
    # A user's own LOG_FILE / LOG_CONSOLE_LEVEL win.
    os.environ.setdefault("LOG_FILE", DEMO_LOG)
    os.environ.setdefault("LOG_CONSOLE_LEVEL", "WARNING")
    ports = demo_ports()
    steps = demo_steps(ctx, replay_days, timeframe, ports)
    results: list[tuple[Step, int, float]] = []
    t_start = time.monotonic()
    earlier: set[str] = set()
    for i, step in enumerate(steps, 1):
        console.print(Rule(f"[bold]{i}/{len(steps)} {step.title}[/bold]"))
        if step.argv[:1] == ("run",):  # signals of earlier demos in the same database are not this run's
            earlier = {s.signal_id for s in _replayed_signals(ctx, steps)}
        console.print(f"[dim]$ trading-ai {' '.join(step.argv)}    # {step.why}[/dim]")
        t0 = time.monotonic()
        code = run_cli(step.argv)
        results.append((step, code, time.monotonic() - t0))
        if code == 1 and step.verdict:
            console.print(
                f"[yellow]'{step.title}': verdict FAIL (exit code 1) - recorded above; the demo goes on "
                "with what it has[/yellow]"
            )
        elif code != 0:
            console.print(f"[red]step '{step.title}' failed with exit code {code}; stopping the demo[/red]")
            _print_summary(console, ctx, results, time.monotonic() - t_start, ports)
            return code
    _print_signals(console, ctx, steps, earlier)
    _print_summary(console, ctx, results, time.monotonic() - t_start, ports)
    return 0


def _replay_start_ms(steps: list[Step]) -> int:
    replay = next(s for s in steps if s.argv[:1] == ("run",))
    day = replay.argv[replay.argv.index("--replay-from") + 1]
    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp() * 1000)


def _replayed_signals(ctx: Context, steps: list[Step]) -> list[Any]:
    """The replay's signals in SQLite dated inside the replayed period (read back, not from memory). The
    demo's replayed dry-run is a replay: its rows are recorded under mode `replay`, never `dryrun` or
    `demo`, so a real dry-run on the same database never sees them."""
    from adapters.storage.migrate import upgrade
    from adapters.storage.unit_of_work import SqlStorage

    upgrade(ctx.config.database.url)  # idempotent; a first demo has no database yet
    storage = SqlStorage.open(ctx.config.database.url)
    try:
        return [s for s in storage.signal_log.signals(since_ms=_replay_start_ms(steps)) if s.mode is Mode.REPLAY]
    finally:
        storage.close()


def _print_signals(console: Console, ctx: Context, steps: list[Step], earlier: set[str], last: int = 12) -> None:
    signals = [s for s in _replayed_signals(ctx, steps) if s.signal_id not in earlier]
    models = sorted({m for s in signals for m in s.model_versions})
    table = Table(
        title=f"This replayed dry-run's signals in SQLite (mode replay): {len(signals)} (last {last} shown)",
        caption=f"models: {', '.join(models) or '-'}",
    )
    for col in ("UTC", "pair", "dir", "tier", "conf", "entry", "tp", "sl", "rr"):
        table.add_column(col, no_wrap=True)
    for s in signals[-last:]:
        created = datetime.fromtimestamp(s.created_at_ms / 1000, UTC).strftime("%m-%d %H:%M")
        table.add_row(
            created,
            s.pair.split("/")[0],
            s.direction.value,
            s.tier.name,
            f"{s.confidence:.3f}",
            f"{s.entry:.6g}",
            f"{s.tp:.6g}",
            f"{s.sl:.6g}",
            f"{s.rr:.2f}",
        )
    console.print(table)
    from composition.redaction import redact_text

    console.print(f"SQLite: {redact_text(ctx.config.database.url)}")


def _print_summary(
    console: Console,
    ctx: Context,
    results: list[tuple[Step, int, float]],
    total_s: float,
    ports: DemoPorts | None = None,
) -> None:
    cfg = ctx.config
    table = Table(title=f"trading-ai demo: {total_s:.0f} s in all")
    table.add_column("step")
    table.add_column("exit", justify="right")
    table.add_column("seconds", justify="right")
    for step, code, seconds in results:
        table.add_row(step.title, str(code), f"{seconds:.1f}")
    console.print(table)
    store = Path(cfg.data.store_dir)
    outputs = Table(title="Where each output is")
    outputs.add_column("output")
    outputs.add_column("path")
    db = cfg.database.url.removeprefix("sqlite:///") if cfg.database.url.startswith("sqlite:///") else cfg.database.url
    for name, path in (
        ("raw candles + quality.json", store / "raw"),
        ("execution metrics", store / "execution_metrics.json"),
        ("feature store", store / "features"),
        ("models and registry", Path(cfg.training.models_dir) / "registry.json"),
        ("experiment index", Path(cfg.training.runs_dir) / "index.csv"),
        ("signals, blocks, risk book (SQLite)", Path(db)),
        ("backtest report (interactive, opens offline)", Path(cfg.backtest.reports_dir) / "demo" / "report.html"),
        ("JSON log of every step", Path(os.environ.get("LOG_FILE", DEMO_LOG))),
    ):
        outputs.add_row(name, str(path))
    console.print(outputs)
    report = Path(cfg.backtest.reports_dir) / "demo" / "report.html"
    if report.is_file():
        console.print(f"report: {report.resolve().as_uri()}", soft_wrap=True)
    if ports is not None:
        console.print(
            f"dashboard: {ports.dashboard_url} (served while the replay ran; watch a live one with "
            f"`trading-ai run --dashboard-port {ports.dashboard_port}`)",
            soft_wrap=True,
        )
