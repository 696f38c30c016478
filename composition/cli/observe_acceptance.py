"""`trading-ai observe acceptance`: the micro-lot acceptance gate (the plan's phase 7.3).

Reads closed trades from the risk book (the configured database, through the storage adapter) or
from a file (`--trades FILE`, CSV or JSON lines with the risk book's column names), and prints the
win rate with its Wilson interval, the latency adjustment, realised vs simulated fills and the
verdict. Exit code 0 when raising risk is justified, 1 when not (or not yet), 2 on a user mistake.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path
from typing import Any

from composition.cli.context import Context
from composition.cli.output import add_json_flag, emit_json
from domain.acceptance import AcceptanceConfig, AcceptanceResult, Verdict, evaluate
from domain.errors import DataError, UserError
from domain.risk_book import TradeRecord
from domain.signals import Mode, Tier

_FLOATS = (
    "entry_price",
    "tp_price",
    "sl_price",
    "rr_expected",
    "exit_price",
    "r_realized",
    "time_to_tp_sl_seconds",
    "slippage_bps",
    "slippage_expected_bps",
    "spread_bps",
    "latency_ms",
)


def register(inner: Any) -> None:
    p = inner.add_parser("acceptance", help="micro-lot acceptance gate: win rate with its interval, verdict on risk")
    p.add_argument("--trades", help="read trades from this CSV/JSONL file instead of the risk book")
    p.add_argument(
        "--mode",
        default="live",
        choices=[m.value for m in Mode],
        help="which trades count (default live: the micro-lot trades)",
    )
    p.add_argument("--since", type=int, default=None, help="only trades entered at or after this epoch ms")
    p.add_argument("--target", type=float, default=0.68, help="win rate to clear (default 0.68)")
    p.add_argument("--min-trades", type=int, default=100, help="closed trades before any verdict (default 100)")
    p.add_argument(
        "--latency-penalty-bps",
        type=float,
        default=None,
        help="charge simulated trades above the latency SLA this many bps "
        "(default: the execution model's mean p90 slippage)",
    )
    p.add_argument("--strict", action="store_true", help="require the Wilson lower bound to clear the target")
    add_json_flag(p)
    p.set_defaults(handler=run)


def _parse_row(row: dict[str, Any], where: str) -> TradeRecord:
    try:
        values: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
        for k in _FLOATS:
            if k in values:
                values[k] = float(values[k])
        for k in ("entry_time_ms", "exit_time_ms"):
            if k in values:
                values[k] = int(float(values[k]))
        values["tier"] = Tier.parse(values.get("tier", "NONE"))
        values["mode"] = Mode(values.get("mode", "live"))
        known = {a.name for a in TradeRecord.__attrs_attrs__}
        return TradeRecord(**{k: v for k, v in values.items() if k in known})
    except (TypeError, ValueError, KeyError, UserError) as exc:
        raise DataError(f"{where}: not a risk-book trade ({exc})") from None


def read_trades_file(path: Path) -> list[TradeRecord]:
    if not path.is_file():
        raise DataError(f"trades file {path} not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    rows.append((json.loads(line), f"{path}:{n}"))
                except json.JSONDecodeError as exc:
                    raise DataError(f"{path}:{n}: invalid JSON ({exc.msg})") from None
    else:
        rows = [(r, f"{path}:{n}") for n, r in enumerate(csv.DictReader(text.splitlines()), 2)]
    return [_parse_row(r, where) for r, where in rows]


def read_risk_book(ctx: Context, mode: Mode, since: int | None) -> list[TradeRecord]:
    try:
        from adapters.storage.engine import open_engine
        from adapters.storage.repositories import EngineScope, SqlRiskBookRepository
    except ImportError:
        raise UserError("the storage adapter is not available in this build; pass --trades FILE") from None
    engine = open_engine(ctx.config.database.url)
    try:
        return SqlRiskBookRepository(EngineScope(engine)).records(since_ms=since, mode=mode)
    finally:
        engine.dispose()


def _default_penalty(ctx: Context) -> tuple[float, str]:
    try:
        from adapters.execution_metrics.cost_model import load_cost_model

        model: Any = load_cost_model(ctx.config)
        p90s = [p.slippage.p90 for p in model.profiles]
        return float(sum(p90s) / len(p90s)), f"execution model p90 slippage ({model.description})"
    except (ImportError, UserError, AttributeError):
        return 0.0, "no execution model found: latency penalty 0 (pass --latency-penalty-bps)"


def run(args: argparse.Namespace, ctx: Context) -> int:
    mode = Mode(args.mode)
    if args.trades:
        trades = [
            t
            for t in read_trades_file(Path(args.trades))
            if t.mode == mode and (args.since is None or t.entry_time_ms >= args.since)
        ]
        source = args.trades
    else:
        trades = read_risk_book(ctx, mode, args.since)
        source = "risk book"
    if args.latency_penalty_bps is None:
        penalty, penalty_note = _default_penalty(ctx)
    else:
        penalty, penalty_note = float(args.latency_penalty_bps), "given on the command line"
    try:
        cfg = AcceptanceConfig(
            target=args.target,
            min_trades=args.min_trades,
            latency_sla_ms=float(ctx.config.runtime.latency_sla_ms),
            latency_penalty_bps=penalty,
            require_lower_bound=args.strict,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    result = evaluate(trades, cfg)
    render(result, cfg, f"{source}, mode {mode.value}", penalty_note)
    emit_json(
        args,
        {
            "verdict": result.verdict.value,
            "source": source,
            "mode": mode.value,
            "latency_penalty": penalty_note,
            "config": cfg,
            "result": result,
        },
    )
    return 0 if result.verdict is Verdict.RAISE_RISK else 1


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def render(res: AcceptanceResult, cfg: AcceptanceConfig, source: str, penalty_note: str) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=120)
    t = Table(title=f"Acceptance gate ({source})")
    t.add_column("measure")
    t.add_column("value", justify="right")
    t.add_row("closed trades", f"{res.n_trades} (need {cfg.min_trades})")
    t.add_row("win rate", f"{_pct(res.win_rate)}  [{_pct(res.interval[0])} .. {_pct(res.interval[1])}]")
    t.add_row(
        "latency-adjusted win rate",
        f"{_pct(res.adjusted_win_rate)}  [{_pct(res.adjusted_interval[0])} .. {_pct(res.adjusted_interval[1])}]",
    )
    t.add_row(
        "trades over the latency SLA",
        f"{res.n_over_sla} (> {cfg.latency_sla_ms:g} ms), {res.n_penalised} charged {cfg.latency_penalty_bps:.2f} bps",
    )
    if res.fills is not None:
        f = res.fills
        t.add_row(
            "slippage realised / simulated", f"{f.realised_mean_bps:.2f} / {f.simulated_mean_bps:.2f} bps (n={f.n})"
        )
        t.add_row(
            "difference",
            f"{f.diff_mean_bps:+.2f} bps [{f.diff_interval_bps[0]:+.2f} .. "
            f"{f.diff_interval_bps[1]:+.2f}] {'ok' if f.consistent else 'WORSE than modelled'}",
        )
    else:
        t.add_row("slippage realised / simulated", "no data")
    t.add_row("target", f"{cfg.target:.0%}{' (Wilson lower bound)' if cfg.require_lower_bound else ''}")
    t.add_row("verdict", res.verdict.value)
    console.print(t)
    console.print(f"latency penalty: {penalty_note}")
    for r in res.reasons:
        console.print(f"- {r}")
