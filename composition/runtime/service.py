"""The running service: the per-tick cycle (scan, log, alert, track outcomes, persist) and the async
main that runs the loop beside the health endpoint and the Telegram bot.

Every signal, block and closed trade becomes one JSON log line with the plan's fields (pair, tier,
conf, entry, tp, sl, rr, lat_ms, spread_bps, slip_bps, mode). Exactly two alert kinds reach the
operator: `kill_switch` (a signal attempted while the switch is on) and `guardrail_breach` (an
attempt to emit past the daily or total loss limit, or an actual floor breach); both are logged too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal as signal_mod
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import attrs

from adapters.http.healthz import HealthInputs, HealthServer
from composition.runtime.loop import ScanLoop
from composition.runtime.resources import cpu_seconds, disk_free_mb, rss_mb
from domain.policy import PolicyConfig
from domain.signals import Block, BlockReason, Direction, Signal, Tier
from ports.broker import Broker
from ports.clock import Clock
from ports.notifier import Notifier
from ports.operator import (
    CheckReport,
    DailyRow,
    FtmoStatusReport,
    OperatorCommands,
    PositionReport,
    RetrainRequest,
    StatsReport,
)
from ports.runtime_state import RuntimeStateStore
from ports.storage import SignalLogRepository
from services.execution import FLOOR_BREACH_MARK, RiskDesk
from services.outcome_tracking import Outcome, OutcomeTracker, apply_losses
from services.scan_cycle import ScanCycle, signal_sentiment

GUARD_REASONS = (BlockReason.DAILY_LOSS, BlockReason.MAX_LOSS)
ALERT_KINDS = ("kill_switch", "guardrail_breach")


def _throttle_key(kind: str, text: str) -> str:
    """Blocked attempts of one kind share a throttle. A floor crossing is sent once per breach episode
    already (services.execution), so it has its own key: an attempt alert minutes earlier must not
    hold back the news that the floor was actually crossed."""
    return f"{kind}/floor" if FLOOR_BREACH_MARK in text else kind


class AlertingNotifier:
    """Logs every alert as an `alert` JSON line; repeats of one kind reach Telegram at most once per
    `throttle_s` (the log keeps them all, with the number held back). Floor crossings are throttled
    apart from blocked attempts (`_throttle_key`)."""

    def __init__(self, inner: Notifier, log: logging.Logger, clock: Clock, throttle_s: float = 900.0) -> None:
        self.inner = inner
        self.log = log
        self.clock = clock
        self.throttle_ms = int(throttle_s * 1000)
        self.last_sent: dict[str, int] = {}
        self.held_back: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()

    def send_signal(self, signal: Signal) -> None:
        self.inner.send_signal(signal)

    def send_text(self, text: str, chat_id: str | None = None) -> None:
        self.inner.send_text(text, chat_id)

    def send_alert(self, kind: str, text: str) -> None:
        now = self.clock.now_ms()
        self.counts[kind] += 1
        key = _throttle_key(kind, text)
        last = self.last_sent.get(key)
        forward = last is None or now - last >= self.throttle_ms
        self.log.warning(
            "alert",
            extra={
                "ctx": {"kind": kind, "text": text, "at_ms": now, "sent": forward, "held_back": self.held_back[key]}
            },
        )
        if not forward:
            self.held_back[key] += 1
            return
        held = self.held_back.pop(key, 0)
        self.last_sent[key] = now
        self.inner.send_alert(kind, text + (f" (+{held} similar since the last alert)" if held else ""))


@attrs.define
class CycleCounters:
    cycles: int = 0
    signals: int = 0
    blocks: Counter[str] = attrs.field(factory=Counter)
    tiers: Counter[str] = attrs.field(factory=Counter)
    wins: int = 0
    losses: int = 0
    r_total: float = 0.0
    resent: int = 0
    last_cycle_ms: int | None = None
    last_duration_ms: float = 0.0
    last_bar_ms: int | None = None


class RuntimeCycle:
    """One tick: resend pending signals, scan, log and alert, track outcomes, persist the state.

    Holds `lock` throughout so operator commands (from Telegram) never interleave with a cycle."""

    def __init__(
        self,
        *,
        scan: ScanCycle,
        tracker: OutcomeTracker,
        desk: RiskDesk,
        state_store: RuntimeStateStore,
        notifier: Notifier,
        signal_log: SignalLogRepository,
        broker: Broker,
        clock: Clock,
        log: logging.Logger,
        lock: threading.RLock,
        policy_cfg: PolicyConfig,
        resource_every: int = 30,
        data_dir: str = ".",
        ledger_store: Any = None,
    ) -> None:
        self.scan = scan
        self.tracker = tracker
        self.desk = desk
        self.state_store = state_store
        self.notifier = notifier
        self.signal_log = signal_log
        self.broker = broker
        self.clock = clock
        self.log = log
        self.lock = lock
        self.policy_cfg = policy_cfg
        self.ledger_store = ledger_store  # ports.ftmo_ledger.FtmoLedgerStore, or None
        self.resource_every = resource_every
        self.data_dir = data_dir
        self.n = CycleCounters()
        self._cpu0 = cpu_seconds()
        self._wall0 = time.monotonic()

    @property
    def mode(self) -> str:
        return self.desk.mode.value

    def __call__(self, tick_ms: int) -> None:
        with self.lock:
            t0 = time.perf_counter()
            self._resend_pending()
            report = self.scan.run_once()
            lat_ms = (time.perf_counter() - t0) * 1000.0
            for s in report.signals:
                self._on_signal(s, lat_ms)
            for b in report.blocks:
                self._on_block(b, lat_ms)
            for r in report.sentiment:  # the sentiment plugin's reading per pair this cycle
                reading = {
                    "pair": r.pair,
                    "score": None if r.score is None else round(r.score, 4),
                    "coverage": r.coverage,
                    "window_ms": r.window_ms,
                    "at_ms": r.at_ms,
                    "mode": self.mode,
                }
                self.log.info("sentiment", extra={"ctx": reading})  # the scan cycle publishes it on `sentiment`
            outcomes = self.tracker.run_once()
            if outcomes:
                self.desk.set_policy(apply_losses(self.policy_cfg, self.desk.policy, outcomes))
                for o in outcomes:
                    self._on_outcome(o)
            now = self.clock.now_ms()
            self.desk.runtime = attrs.evolve(self.desk.runtime, updated_at_ms=now)
            self.state_store.save(self.desk.runtime)
            if self.ledger_store is not None and self.desk.ftmo is not None:
                self.ledger_store.save(self.mode, self.desk.ftmo, now)  # a restart keeps every floor
            duration_ms = (time.perf_counter() - t0) * 1000.0
        self.n.cycles += 1
        self.n.last_cycle_ms = tick_ms
        self.n.last_duration_ms = duration_ms
        cycle_ctx = {
            "at_ms": report.at_ms,
            "signals": len(report.signals),
            "blocks": len(report.blocks),
            "quiet": len(report.quiet),
            "closed": len(outcomes),
            "lat_ms": round(lat_ms, 2),
            "duration_ms": round(duration_ms, 2),
        }
        self.log.info("cycle_done", extra={"ctx": cycle_ctx})
        self.scan.bus.publish("metrics", {"kind": "cycle", "mode": self.mode, **cycle_ctx})
        if self.n.cycles % self.resource_every == 1:
            self.sample_resources()

    def sample_resources(self) -> None:
        wall = max(1e-9, time.monotonic() - self._wall0)
        self.log.info(
            "resource_sample",
            extra={
                "ctx": {
                    "rss_mb": round(rss_mb(), 1),
                    "cpu_pct": round(100.0 * (cpu_seconds() - self._cpu0) / wall, 1),
                    # CPU seconds since start: with `cycles`, the CPU each cycle costs, which a replay at full
                    # speed measures as truly as a live run (its wall-clock share is ~100% by design)
                    "cpu_s": round(cpu_seconds() - self._cpu0, 3),
                    "disk_free_mb": round(disk_free_mb(self.data_dir), 1),
                    "cycles": self.n.cycles,
                }
            },
        )

    def _resend_pending(self) -> None:
        # its own mode's only: a live runtime never notifies a replay's (or a dry-run's) pending signal
        for s in self.signal_log.pending(self.desk.mode):
            try:
                self.notifier.send_signal(s)
                self.signal_log.mark_sent(s.signal_id)
                self.n.resent += 1
                self.log.info("signal_resent", extra={"ctx": {"signal_id": s.signal_id, "pair": s.pair}})
            except Exception:
                self.log.exception("signal_resend_failed", extra={"ctx": {"signal_id": s.signal_id}})
                return

    def _spread_bps(self, pair: str) -> float | None:
        try:
            bid, ask = self.broker.quote(pair)
        except Exception:
            return None
        mid = (bid + ask) / 2
        return round((ask - bid) / mid * 1e4, 3) if mid > 0 else None

    def _slip_bps(self, s: Signal) -> float | None:
        if not self.scan.settings.execute:
            return None  # dry-run: no order, no fill, no slippage
        for f in self.broker.fills(s.created_at_ms):
            if f.client_order_id == s.signal_id:
                return round(f.slippage_bps(s.direction), 3)
        return None

    def _on_signal(self, s: Signal, lat_ms: float) -> None:
        self.n.signals += 1
        self.n.tiers[s.tier.name] += 1
        ctx = {
            "signal_id": s.signal_id,
            "pair": s.pair,
            "direction": s.direction.value,
            "tier": s.tier.name,
            "conf": round(s.confidence, 4),
            "entry": s.entry,
            "tp": s.tp,
            "sl": s.sl,
            "rr": round(s.rr, 3),
            "lat_ms": round(lat_ms, 2),
            "spread_bps": self._spread_bps(s.pair),
            "slip_bps": self._slip_bps(s),
            "mode": s.mode.value,
            "at_ms": s.created_at_ms,
            "models": list(s.model_versions),
            "sentiment": signal_sentiment(s),
        }
        self.log.info("signal", extra={"ctx": ctx})
        if self.scan.settings.execute:
            self.log.info("trade_opened", extra={"ctx": ctx})
            self.scan.bus.publish("trades", {"event": "opened", **ctx})

    def _on_block(self, b: Block, lat_ms: float) -> None:
        self.n.blocks[b.reason.value] += 1
        self.log.info(
            "block",
            extra={
                "ctx": {
                    "pair": b.pair,
                    "reason": b.reason.value,
                    "detail": b.detail,
                    "tier": b.tier.name,
                    "conf": None if b.confidence is None else round(b.confidence, 4),
                    "lat_ms": round(lat_ms, 2),
                    "spread_bps": None,
                    "slip_bps": None,
                    "mode": b.mode.value,
                    "at_ms": b.at_ms,
                }
            },
        )
        if b.reason in GUARD_REASONS:
            self.notifier.send_alert(
                "guardrail_breach",
                f"blocked {b.pair} {b.tier.name}: would breach the {b.reason.value} limit ({b.detail})",
            )

    def _on_outcome(self, o: Outcome) -> None:
        r = o.record
        if r.result == "W":
            self.n.wins += 1
        else:
            self.n.losses += 1
        self.n.r_total += r.r_realized or 0.0
        closed = {
            "signal_id": r.signal_id,
            "pair": r.pair,
            "tier": r.tier.name,
            "result": r.result,
            "how": o.how,
            "entry": r.entry_price,
            "tp": r.tp_price,
            "sl": r.sl_price,
            "rr": round(r.rr_expected, 3),
            "exit": r.exit_price,
            "r": None if r.r_realized is None else round(r.r_realized, 4),
            "time_to_tp_sl_s": r.time_to_tp_sl_seconds,
            "mode": r.mode.value,
            "at_ms": r.exit_time_ms,
            "lat_ms": None,
            "spread_bps": r.spread_bps,
            "slip_bps": r.slippage_bps,
        }
        self.log.info("trade_closed", extra={"ctx": closed})
        self.scan.bus.publish("trades", {"event": "closed", **closed})


class PersistingOperator:
    """OperatorCommands that waits for a running cycle (shared lock) and saves the state after a change."""

    def __init__(
        self,
        inner: OperatorCommands,
        desk: RiskDesk,
        store: RuntimeStateStore,
        clock: Clock,
        lock: threading.RLock,
        retrain_runner: Any = None,
    ) -> None:
        self.inner = inner
        self.desk = desk
        self.store = store
        self.clock = clock
        self.lock = lock
        self.retrain_runner = retrain_runner  # composition.runtime.retrain.RetrainRunner, or None (replays)

    def _save(self) -> None:
        self.desk.runtime = attrs.evolve(self.desk.runtime, updated_at_ms=self.clock.now_ms())
        self.store.save(self.desk.runtime)

    def check(self) -> CheckReport:
        with self.lock:
            return self.inner.check()

    def stats(self, days: int = 7) -> StatsReport:
        with self.lock:
            return self.inner.stats(days)

    def ftmo_status(self) -> FtmoStatusReport:
        with self.lock:
            return self.inner.ftmo_status()

    def set_threshold(self, tier: Tier, value: float) -> tuple[tuple[str, float], ...]:
        with self.lock:
            out = self.inner.set_threshold(tier, value)
            self._save()
            return out

    def kill_switch(self, on: bool) -> bool:
        with self.lock:
            out = self.inner.kill_switch(on)
            self._save()
            return out

    def request_retrain(self, reason: str = "") -> RetrainRequest:
        with self.lock:
            req = self.inner.request_retrain(reason)
        if self.retrain_runner is not None:
            self.retrain_runner.start(req.request_id)
        return req

    def force_signal(self, pair: str, direction: Direction | None = None) -> Signal | Block:
        with self.lock:
            out = self.inner.force_signal(pair, direction)
            self._save()
            return out

    def positions(self) -> tuple[PositionReport, ...]:
        with self.lock:
            return self.inner.positions()

    def daily(self, days: int = 7) -> tuple[DailyRow, ...]:
        with self.lock:
            return self.inner.daily(days)

    def recent_signals(self, n: int = 5) -> tuple[Signal, ...]:
        with self.lock:
            return self.inner.recent_signals(n)

    def recent_blocks(self, n: int = 10) -> tuple[Block, ...]:
        with self.lock:
            return self.inner.recent_blocks(n)


@attrs.define
class ServiceParts:
    """What `serve` runs; built by composition.containers."""

    cycle: RuntimeCycle
    loop: ScanLoop
    clock: Any
    log: logging.Logger
    health: HealthServer | None = None
    bot: Any = None  # adapters.notifiers.telegram.bot.TelegramBot | None
    dashboard: Any = None  # adapters.http.dashboard.DashboardServer | None
    replay_window: tuple[int, int] | None = None  # (start, end) ms of a replay: drawn as a progress bar
    checks: dict[str, Callable[[], bool | None]] = attrs.field(factory=dict)
    stale_after_s: float = 300.0
    started_at_ms: int = 0
    closers: list[Callable[[], None]] = attrs.field(factory=list)
    status: dict[str, Callable[[], Any]] = attrs.field(factory=dict)  # extra /healthz sections (event_bus)
    snapshot: dict[str, Any] = attrs.field(factory=dict)  # what /healthz answers from (refresh_snapshot)


# Checks a finished cycle has exercised: when it succeeded, they answered, and the snapshot says so
# without calling them again; only after a failed cycle are they asked (once) which one is down.
CYCLE_CHECKS = ("db", "broker")


def refresh_snapshot(parts: ServiceParts, cycle_ok: bool | None) -> dict[str, Any]:
    """Write /healthz's snapshot: the checks and the `status` sections, once per cycle (and once at
    start, `cycle_ok=None`). The endpoint only reads it, so requests never reach the broker or the
    database. Other parts may add keys to `parts.snapshot["detail"]` (a dict, merged into the body)."""
    checks: dict[str, bool | None] = {}
    for name, fn in parts.checks.items():
        if cycle_ok and name in CYCLE_CHECKS:
            checks[name] = True
            continue
        try:
            checks[name] = fn()
        except Exception:
            checks[name] = False
    sections: dict[str, Any] = {}
    for name, section in parts.status.items():
        try:
            sections[name] = section()
        except Exception as exc:  # a broken section is reported, never fatal to the endpoint
            sections[name] = {"error": type(exc).__name__}
    snap = {"checks": checks, "detail": {**parts.snapshot.get("detail", {}), **sections}}
    parts.snapshot = snap  # one reference swap: a request reads either the old or the new snapshot
    return snap


def health_probe(parts: ServiceParts, interval_s: float) -> Callable[[], HealthInputs]:
    def probe() -> HealthInputs:
        snap = parts.snapshot
        if "checks" not in snap:  # served before the start snapshot: take it now (once)
            snap = refresh_snapshot(parts, None)
        c = parts.cycle.n
        return HealthInputs(
            now_ms=parts.clock.now_ms(),
            started_at_ms=parts.started_at_ms,
            last_cycle_at_ms=c.last_cycle_ms,
            interval_s=interval_s,
            stale_after_s=parts.stale_after_s,
            checks=snap["checks"],
            detail={
                "mode": parts.cycle.mode,
                "cycles": c.cycles,
                "last_cycle_ms_taken": round(c.last_duration_ms, 1),
                "kill_switch": parts.cycle.desk.policy.kill_switch,
                **snap["detail"],
            },
        )

    return probe


def snapshot_after_each_cycle(parts: ServiceParts) -> None:
    """Wrap the loop's cycle so the snapshot is refreshed in the cycle's worker thread right after it."""
    inner = parts.loop.cycle

    def cycle(tick_ms: int) -> Any:
        ok = False
        try:
            out = inner(tick_ms)
            ok = True
            return out
        finally:
            refresh_snapshot(parts, ok)

    parts.loop.cycle = cycle


async def serve(parts: ServiceParts, *, install_signals: bool = True) -> int:
    """Run until the loop ends (cycles/replay exhausted) or SIGTERM/SIGINT; then flush and close. Exit 0."""
    loop = asyncio.get_running_loop()
    if install_signals:
        for sig in (signal_mod.SIGTERM, signal_mod.SIGINT):
            loop.add_signal_handler(sig, parts.loop.request_stop, sig.name)
    parts.started_at_ms = parts.clock.now_ms()
    refresh_snapshot(parts, None)  # /healthz answers from this until the first cycle writes its own
    snapshot_after_each_cycle(parts)
    parts.log.info("service_started", extra={"ctx": {"mode": parts.cycle.mode}})
    progress: asyncio.Task[None] | None = None
    try:
        if parts.health is not None:
            await parts.health.start()
        if parts.dashboard is not None:
            await parts.dashboard.start()
            print(f"dashboard: {parts.dashboard.url}", file=sys.stderr, flush=True)
        if parts.bot is not None:
            await parts.bot.start()
        if parts.replay_window is not None:
            from composition.runtime.progress import replay_progress

            progress = asyncio.create_task(replay_progress(*parts.replay_window, lambda: parts.loop.stats.last_tick_ms))
        stats = await parts.loop.run()
    finally:
        if progress is not None:
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
        if parts.bot is not None:
            try:
                await parts.bot.stop()
            except Exception:
                parts.log.exception("telegram_stop_failed")
        if parts.health is not None:
            await parts.health.stop()
        if parts.dashboard is not None:
            await parts.dashboard.stop()
        parts.cycle.sample_resources()
        for close in parts.closers:
            try:
                close()
            except Exception:
                parts.log.exception("close_failed")
        if install_signals:
            for sig in (signal_mod.SIGTERM, signal_mod.SIGINT):
                loop.remove_signal_handler(sig)
    parts.log.info(
        "service_stopped",
        extra={
            "ctx": {
                "cycles": stats.cycles,
                "failed": stats.failed,
                "skipped_ticks": stats.skipped_ticks,
                "by_signal": stats.stopped_by_signal,
            }
        },
    )
    return 0
