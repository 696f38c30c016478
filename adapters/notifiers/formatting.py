"""Plain-text renderings of signals, alerts and operator reports, shared by Telegram and the console."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from domain.signals import Mode, Signal
from ports.operator import CheckReport, DailyRow, FtmoStatusReport, PositionReport, StatsReport

MODE_TAGS = {
    Mode.DRYRUN: "[DRY-RUN]",
    Mode.LIVE: "[LIVE]",
    Mode.BACKTEST: "[BACKTEST]",
    Mode.DEMO: "[DEMO]",
    Mode.REPLAY: "[REPLAY]",
}


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
    if r.trading_days is not None:  # the FTMO ledger's figures
        lines.append(
            f"FTMO trading days {r.trading_days}/{r.min_trading_days}; best-day rule "
            f"{'OK' if r.best_day_ok else 'broken (best day above 50% of the profit)'}"
        )
    return "\n".join(lines)


def format_ftmo(r: FtmoStatusReport) -> str:
    lines = [
        f"balance {r.balance:,.2f}  equity {r.equity:,.2f}  (initial {r.initial_balance:,.2f})",
        f"today's floor {r.daily_floor:,.2f} (day start {r.day_start_balance:,.2f}); headroom {r.daily_headroom:,.2f}",
        f"total floor {r.total_floor:,.2f}; headroom {r.total_headroom:,.2f}",
        f"profit {r.profit:+,.2f} of target {r.profit_target:,.2f} ({max(0.0, r.profit_target - r.profit):,.2f} to go)",
        f"trading days {r.trading_days}/{r.min_trading_days}",
    ]
    if r.best_day_applies:  # one-step: the best day may be at most half of the total profit
        share = "n/a (no profit yet)" if r.best_day_share is None else f"{r.best_day_share:.0%} of the profit"
        lines.append(f"best day {share}: {'OK' if r.best_day_ok else 'above the 50% rule'}")
    if r.halted:
        lines.append(f"HALTED: {r.halt_reason}")
    return "\n".join(lines)


# --- /status, /profit, /daily, /balance, /performance, /signals ---------------------------------------


def _signed(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+,.2f}"


def format_positions(positions: Sequence[PositionReport]) -> str:
    if not positions:
        return "no open positions"
    total = sum(p.pnl for p in positions if p.pnl is not None)
    lines = [f"{len(positions)} open position{'s' if len(positions) != 1 else ''}, floating P&L {total:+,.2f}"]
    for p in positions:
        now = "no quote" if p.price is None else f"now {_price(p.price)}"
        tp = "-" if p.tp is None else _price(p.tp)
        lines.append(
            f"{p.pair} {p.direction.upper()} {p.volume:g} @ {_price(p.entry)} {now} P&L {_signed(p.pnl)} "
            f"(SL {_price(p.sl)} TP {tp}) since {when(p.opened_at_ms)}"
        )
    return "\n".join(lines)


def format_profit(r: StatsReport, f: FtmoStatusReport) -> str:
    wr = "n/a" if r.win_rate is None else f"{r.win_rate:.1%}"
    avg = "n/a" if not r.trades else f"{r.total_r / r.trades:+.2f}"
    pct = f.profit / f.initial_balance * 100 if f.initial_balance else 0.0
    return (
        f"profit, last {r.days} days: {r.trades} closed, {r.wins} won ({wr}), {r.total_r:+.2f} R (avg {avg} R)\n"
        f"account: balance {f.balance:,.2f} (initial {f.initial_balance:,.2f}), profit {f.profit:+,.2f} "
        f"({pct:+.2f}%) of target {f.profit_target:,.2f}"
    )


def format_daily(rows: Sequence[DailyRow]) -> str:
    lines = [f"closed trades per day (Prague trading day), last {len(rows)} days:"]
    for d in rows:
        lines.append(f"{d.day}: {d.trades} trades, {d.wins} won, {d.total_r:+.2f} R")
    return "\n".join(lines)


def format_balance(f: FtmoStatusReport) -> str:
    pct = f.profit / f.initial_balance * 100 if f.initial_balance else 0.0
    return (
        f"balance {f.balance:,.2f}  equity {f.equity:,.2f}  floating {f.equity - f.balance:+,.2f}\n"
        f"initial {f.initial_balance:,.2f}; profit {f.profit:+,.2f} ({pct:+.2f}%)"
    )


def format_performance(r: StatsReport) -> str:
    rows = [row for row in r.rows if row.group == "pair"]
    if not rows:
        return f"performance per pair, last {r.days} days: no closed trades"
    lines = [f"performance per pair, last {r.days} days:"]
    for row in sorted(rows, key=lambda x: -x.total_r):
        wr = "n/a" if row.win_rate is None else f"{row.win_rate:.0%}"
        avg = "n/a" if row.avg_r is None else f"{row.avg_r:+.2f}"
        lines.append(f"{row.key}: {row.trades} trades, win {wr}, total {row.total_r:+.2f} R, avg {avg} R")
    return "\n".join(lines)


def format_signal_list(signals: Sequence[Signal]) -> str:
    if not signals:
        return "no signals yet"
    lines = [f"last {len(signals)} signal{'s' if len(signals) != 1 else ''}, newest first:"]
    for s in signals:
        lines.append(
            f"{when(s.created_at_ms)} {s.pair} {s.direction.value.upper()} {s.tier.name} "
            f"conf {s.confidence:.1%} entry {_price(s.entry)} TP {_price(s.tp)} SL {_price(s.sl)}"
        )
    return "\n".join(lines)
