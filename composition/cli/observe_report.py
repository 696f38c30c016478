"""`trading-ai observe report --days N`: score a dry-run period against the plan's silent-observation
criteria, each pass/fail with its figures, from the service's JSON log and the database.

Criteria: zero crashes/errors; every signal well-formed and logged (log == signal_log table); FTMO
rules enforced (rate limit never exceeded, nothing emitted in a cycle that saw a kill-switch or halt
block, every loss-limit block alerted); Telegram responsive (n/a when not configured); stable
resources (RSS, CPU, disk). Exit 0 when every applicable criterion passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from typing import Any

import attrs

from composition.cli.context import Context
from composition.cli.logread import event_ms, log_path, read_events
from composition.cli.output import add_json_flag, emit_json
from domain.market import MS_PER_DAY, MS_PER_HOUR

PLAN_FIELDS = ("pair", "tier", "conf", "entry", "tp", "sl", "rr", "lat_ms", "spread_bps", "slip_bps", "mode")
RSS_LIMIT_MB = 1024.0
CPU_LIMIT_PCT = 50.0
DISK_MIN_MB = 1024.0


@attrs.frozen
class Criterion:
    name: str
    verdict: str  # PASS | FAIL | N/A
    figures: str


def register(inner: Any) -> None:
    p = inner.add_parser("report", help="score a dry-run period against the observation criteria")
    p.add_argument("--days", type=int, default=5, help="period: the last N days of the log (default 5)")
    p.add_argument("--log", metavar="PATH", help="JSON log file (default: config logging.file / LOG_FILE)")
    p.add_argument(
        "--mode",
        default="dryrun",
        choices=("dryrun", "live", "replay"),
        help="whose events and signals: dryrun (default), live, or replay (a `run --replay-from`'s)",
    )
    add_json_flag(p)
    p.set_defaults(handler=_report)


def _well_formed(e: dict[str, Any]) -> bool:
    if any(f not in e for f in PLAN_FIELDS):
        return False
    try:
        entry, tp, sl = float(e["entry"]), float(e["tp"]), float(e["sl"])
        sign = 1 if e.get("direction") == "long" else -1
        return (
            0.0 <= float(e["conf"]) <= 1.0
            and float(e["rr"]) > 0
            and sign * (tp - entry) > 0
            and sign * (entry - sl) > 0
            and e["tier"] in ("LOW", "MEDIUM", "HIGH")
        )
    except (TypeError, ValueError):
        return False


def _cpu_share(res: list[dict[str, Any]], cpu: list[float], interval_s: float) -> tuple[float, str]:
    """CPU as a share of the scan interval at the real pace: CPU seconds per cycle / interval. A replay
    at full speed is CPU-bound by design, so its wall-clock share says nothing; its per-cycle cost does.
    Logs without `cpu_s` (older runs) fall back to the wall-clock mean."""
    with_cpu = [r for r in res if "cpu_s" in r and "cycles" in r]
    if len(with_cpu) >= 2 and float(with_cpu[-1]["cycles"]) > float(with_cpu[0]["cycles"]):
        per_cycle = (float(with_cpu[-1]["cpu_s"]) - float(with_cpu[0]["cpu_s"])) / (
            float(with_cpu[-1]["cycles"]) - float(with_cpu[0]["cycles"])
        )
        return 100.0 * per_cycle / max(interval_s, 1e-9), f"of the {interval_s:.0f} s interval per cycle"
    return statistics.fmean(cpu), "wall-clock mean"


def score(
    events: list[dict[str, Any]],
    *,
    db_signal_count: int | None,
    max_per_hour: int,
    telegram_configured: bool,
    interval_s: float,
    db_error: str = "",
) -> list[Criterion]:
    by = defaultdict(list)
    for e in events:
        by[e["event"]].append(e)
    out: list[Criterion] = []

    errors = [e for e in events if e.get("level") in ("error", "critical")]
    starts, stops = len(by["service_started"]), len(by["service_stopped"])
    # A start without a clean stop is a crash, except the last start when the service is still running.
    still_running = bool(events) and events[-1]["event"] not in ("service_stopped", "run_summary")
    crashes = max(0, starts - stops - (1 if still_running else 0))
    cycles = len(by["cycle_done"])
    failed = len(by["cycle_failed"])
    out.append(
        Criterion(
            "zero crashes or unexpected errors",
            "PASS" if cycles > 0 and not errors and not failed and crashes == 0 else "FAIL",
            f"{cycles} cycles, {failed} failed, {len(errors)} error lines, {starts} starts / {stops} clean stops",
        )
    )

    sigs = by["signal"]
    bad = [e for e in sigs if not _well_formed(e)]
    # Unverifiable is not a pass: the signal_log table must hold exactly the logged signals.
    logged_ok = db_signal_count is not None and db_signal_count == len(sigs)
    db_txt = f"signal_log not readable ({db_error})" if db_signal_count is None else f"{db_signal_count} in signal_log"
    out.append(
        Criterion(
            "signals well-formed and logged",
            "PASS" if sigs and not bad and logged_ok else "FAIL",
            f"{len(sigs)} signal lines, {len(bad)} malformed, {db_txt}",
        )
    )

    times = sorted(int(e["at_ms"]) for e in sigs if isinstance(e.get("at_ms"), int))
    worst = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - MS_PER_HOUR:
            j += 1
        worst = max(worst, i - j + 1)
    stop_cycles = {b["at_ms"] for b in by["block"] if b.get("reason") in ("kill_switch", "halted")}
    leaked = [s for s in sigs if s.get("at_ms") in stop_cycles]
    guard_blocks = [b for b in by["block"] if b.get("reason") in ("daily_loss", "max_loss")]
    guard_alerts = [a for a in by["alert"] if a.get("kind") == "guardrail_breach"]
    kill_blocks = [b for b in by["block"] if b.get("reason") == "kill_switch"]
    kill_alerts = [a for a in by["alert"] if a.get("kind") == "kill_switch"]
    ftmo_ok = (
        worst <= max_per_hour
        and not leaked
        and len(guard_alerts) >= len(guard_blocks)
        and len(kill_alerts) >= len(kill_blocks)
    )
    blocks_by: defaultdict[str, int] = defaultdict(int)
    for b in by["block"]:
        blocks_by[b.get("reason", "?")] += 1
    out.append(
        Criterion(
            "FTMO rules and runtime policy enforced",
            "PASS" if ftmo_ok else "FAIL",
            f"max {worst} signals in any 60 min (limit {max_per_hour}); {len(leaked)} emitted beside a "
            f"kill-switch/halt block; loss-limit blocks {len(guard_blocks)} / alerts {len(guard_alerts)}; "
            f"kill-switch blocks {len(kill_blocks)} / alerts {len(kill_alerts)}; blocks: "
            + (", ".join(f"{k} {v}" for k, v in sorted(blocks_by.items())) or "none"),
        )
    )

    cmds = by["telegram_command"]
    sent, failed_tg = len(by["telegram_sent"]), len(by["telegram_send_failed"])
    if not telegram_configured and not cmds and not sent:
        out.append(Criterion("Telegram responsive", "N/A", "Telegram not configured for this run (no bot token)"))
    else:
        handle = sorted(float(c.get("handle_ms", 0)) for c in cmds)
        p95 = handle[min(len(handle) - 1, int(0.95 * (len(handle) - 1)))] if handle else None
        ok_cmds = sum(1 for c in cmds if c.get("ok"))
        tg_ok = failed_tg == 0 and (not cmds or (ok_cmds == len(cmds) and (p95 or 0) < 5_000))
        out.append(
            Criterion(
                "Telegram responsive",
                "PASS" if tg_ok else "FAIL",
                f"{len(cmds)} commands ({ok_cmds} ok, p95 {p95 if p95 is not None else '-'} ms), {sent} sent, "
                f"{failed_tg} failed, {len(by['telegram_retry'])} retries",
            )
        )

    res = by["resource_sample"]
    if not res:
        out.append(Criterion("stable CPU/RSS/disk", "FAIL", "no resource samples in the log"))
    else:
        rss = [float(r["rss_mb"]) for r in res]
        cpu = [float(r["cpu_pct"]) for r in res]
        disk = [float(r["disk_free_mb"]) for r in res]
        growth = rss[-1] - rss[0]
        cpu_pct, cpu_how = _cpu_share(res, cpu, interval_s)
        stable = (
            max(rss) <= RSS_LIMIT_MB
            and growth <= 0.2 * rss[0] + 50
            and cpu_pct <= CPU_LIMIT_PCT
            and min(disk) >= DISK_MIN_MB
        )
        out.append(
            Criterion(
                "stable CPU/RSS/disk",
                "PASS" if stable else "FAIL",
                f"RSS {rss[0]:.0f} -> {rss[-1]:.0f} MB (max {max(rss):.0f}, limit {RSS_LIMIT_MB:.0f}); CPU "
                f"{cpu_pct:.3g}% {cpu_how} (limit {CPU_LIMIT_PCT:.0f}); disk free min {min(disk):.0f} MB "
                f"({len(res)} samples)",
            )
        )

    durs = sorted(float(c.get("duration_ms", 0)) for c in by["cycle_done"])
    if durs:
        p99 = durs[min(len(durs) - 1, int(0.99 * (len(durs) - 1)))]
        slow = len(by["cycle_slow"])
        out.append(
            Criterion(
                "cycles on time",
                "PASS" if slow == 0 and p99 < interval_s * 1000 else "FAIL",
                f"cycle p50 {statistics.median(durs):.1f} ms, p99 {p99:.1f} ms (interval {interval_s:.0f} s); "
                f"{slow} slow cycles",
            )
        )
    return out


def _report(args: argparse.Namespace, ctx: Context) -> int:
    if args.days < 1:
        from domain.errors import UserError

        raise UserError(f"--days must be at least 1, got {args.days}")
    from rich.console import Console
    from rich.table import Table

    path = log_path(args.log, ctx.config.logging.file)
    service = [e for e in read_events(path) if e.get("mode") == args.mode]
    if not service:
        print(f"no {args.mode} events in {path}")
        return 1
    # The period: the last N days of the run's own time (market time in replays).
    end = (
        max(event_ms(e) for e in service if isinstance(e.get("at_ms"), int))
        if any(isinstance(e.get("at_ms"), int) for e in service)
        else max(event_ms(e) for e in service)
    )
    start = end - args.days * MS_PER_DAY
    in_window = [e for e in service if not isinstance(e.get("at_ms"), int) or start <= e["at_ms"] <= end]
    db_count, db_error = _db_signals(ctx, args.mode, start, end)
    crit = score(
        in_window,
        db_signal_count=db_count,
        db_error=db_error,
        max_per_hour=ctx.config.risk.max_signals_per_hour,
        telegram_configured=bool(ctx.config.telegram.bot_token),
        interval_s=ctx.config.runtime.scan_interval_seconds,
    )
    from datetime import UTC, datetime

    def day(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")

    t = Table(title=f"observation report ({args.mode}) {day(start)} -> {day(end)} UTC, {path}")
    t.add_column("criterion")
    t.add_column("result")
    t.add_column("figures")
    for c in crit:
        style = "yellow" if c.verdict == "N/A" else ("red" if c.verdict == "FAIL" else "green")
        t.add_row(c.name, f"[{style}]{c.verdict}[/{style}]", c.figures)
    Console().print(t)
    applicable = [c for c in crit if c.verdict != "N/A"]
    verdict = all(c.verdict == "PASS" for c in applicable)
    print(
        f"overall: {'PASS' if verdict else 'FAIL'} ({sum(c.verdict == 'PASS' for c in applicable)}/"
        f"{len(applicable)} applicable criteria; {len(crit) - len(applicable)} n/a)"
    )
    emit_json(
        args,
        {
            "verdict": "PASS" if verdict else "FAIL",
            "mode": args.mode,
            "log": str(path),
            "start_ms": start,
            "end_ms": end,
            "criteria": [attrs.asdict(c) for c in crit],
        },
    )
    return 0 if verdict else 1


def _db_signals(ctx: Context, mode: str, start: int, end: int) -> tuple[int | None, str]:
    try:
        import sqlalchemy as sa

        from adapters.storage.engine import open_engine

        engine = open_engine(ctx.config.database.url)
        with engine.connect() as conn:
            n = conn.execute(
                sa.text("SELECT count(*) FROM signal_log WHERE mode = :m AND created_at >= :a AND created_at <= :b"),
                {"m": mode, "a": start, "b": end},
            ).scalar_one()
        engine.dispose()
        return int(n), ""
    except Exception as exc:  # the report still scores the log; the figure says why the DB was not checked
        ctx.log.warning("observe_db_unavailable", extra={"ctx": {"error": str(exc)}})
        return None, str(exc)[:120]
