"""Plain-text renderings of signals, alerts and operator reports, shared by Telegram and the console."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.signals import Mode, Signal
from ports.operator import CheckReport, FtmoStatusReport, StatsReport

MODE_TAGS = {Mode.DRYRUN: "[DRY-RUN]", Mode.LIVE: "[LIVE]", Mode.BACKTEST: "[BACKTEST]", Mode.DEMO: "[DEMO]"}


def mode_tag(mode: Mode | str) -> str:
    try:
        return MODE_TAGS[Mode(mode)]
    except ValueError:
        return f"[{str(mode).upper()}]"


def when(ms: int | None) -> str:
    if ms is None:
        return "never"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _price(x: float) -> str:
    return f"{x:,.2f}" if abs(x) >= 100 else f"{x:,.5g}"


def format_signal(s: Signal) -> str:
    lines = [
        f"{mode_tag(s.mode)} {s.pair} {s.direction.value.upper()} | tier {s.tier.name} | conf {s.confidence:.1%}",
        f"entry {_price(s.entry)}  TP {_price(s.tp)}  SL {_price(s.sl)}  RR {s.rr:.2f}",
        f"at {when(s.created_at_ms)}  id {s.signal_id}",
    ]
    if s.model_versions:
        lines.append("models " + ", ".join(s.model_versions))
    if s.reasons:
        lines.append("why " + "; ".join(s.reasons))
    return "\n".join(lines)


def format_alert(kind: str, text: str, mode: Mode | str = Mode.DRYRUN) -> str:
    return f"ALERT {mode_tag(mode)} {kind}: {text}"


def format_check(r: CheckReport, extra: str = "") -> str:
    lines = [
        f"{mode_tag(r.mode)} status at {when(r.now_ms)}",
        f"kill switch: {'ON' if r.kill_switch else 'off'}",
        f"guard: {'HALTED - ' + r.halt_reason if r.halted else 'trading allowed'}",
        f"broker: {'ok' if r.broker_ok else 'DOWN'}  open positions: {r.open_positions}",
        "thresholds: " + ", ".join(f"{name.lower()} {v:.2f}" for name, v in r.thresholds),
        f"last scan: {when(r.last_scan_ms)}",
    ]
    if r.detail:
        lines.append(r.detail)
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def format_stats(r: StatsReport) -> str:
    wr = "n/a" if r.win_rate is None else f"{r.win_rate:.1%}"
    lines = [f"{mode_tag(r.mode)} last {r.days} days: {r.trades} closed, {r.wins} won ({wr}), {r.total_r:+.2f} R"]
    group = None
    for row in r.rows:
        if row.group != group:
            group = row.group
            lines.append(f"by {group}:")
        rwr = "n/a" if row.win_rate is None else f"{row.win_rate:.0%}"
        avg = "n/a" if row.avg_r is None else f"{row.avg_r:+.2f}"
        lines.append(f"  {row.key}: {row.trades} trades, win {rwr}, avg R {avg}, total {row.total_r:+.2f}")
    return "\n".join(lines)


def format_ftmo(r: FtmoStatusReport) -> str:
    lines = [
        f"balance {r.balance:,.2f}  equity {r.equity:,.2f}  (initial {r.initial_balance:,.2f})",
        f"today's floor {r.daily_floor:,.2f} (day start {r.day_start_balance:,.2f}); headroom {r.daily_headroom:,.2f}",
        f"total floor {r.total_floor:,.2f}; headroom {r.total_headroom:,.2f}",
        f"profit {r.profit:+,.2f} of target {r.profit_target:,.2f} "
        f"({max(0.0, r.profit_target - r.profit):,.2f} to go)",
        f"trading days {r.trading_days}/{r.min_trading_days}",
    ]
    if r.halted:
        lines.append(f"HALTED: {r.halt_reason}")
    return "\n".join(lines)
