"""The scan loop: one cycle per tick, ticks every `interval` and at every bar close, never overlapping.

A cycle runs in a worker thread so the event loop (health endpoint, Telegram) stays responsive.
When a cycle outlasts one or more ticks, those ticks are skipped and logged, never queued: the next
cycle starts at the first tick after it finished. A stop request (SIGTERM/SIGINT) lets the running
cycle finish; the loop then returns and the caller flushes and closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import attrs


class LoopClock(Protocol):
    def now_ms(self) -> int: ...

    async def sleep_until(self, target_ms: int, stop: asyncio.Event) -> bool: ...


def next_tick(after_ms: int, interval_ms: int, bar_ms: int, grace_ms: int) -> int:
    """The first tick strictly after `after_ms`: the earlier of the next interval boundary and the next
    bar close, each shifted by `grace_ms` (time for the exchange to publish the closed bar)."""
    base = after_ms - grace_ms
    on_interval = (base // interval_ms + 1) * interval_ms
    on_bar = (base // bar_ms + 1) * bar_ms if bar_ms > 0 else on_interval
    return min(on_interval, on_bar) + grace_ms


@attrs.define
class LoopStats:
    cycles: int = 0
    failed: int = 0
    skipped_ticks: int = 0
    slow_cycles: int = 0
    first_tick_ms: int | None = None
    last_tick_ms: int | None = None
    durations_ms: list[float] = attrs.field(factory=list)
    stopped_by_signal: bool = False


class ScanLoop:
    """Drives `cycle(tick_ms)`; `on_cycle(tick_ms, duration_ms, ok)` runs after each one (health, state)."""

    def __init__(
        self,
        cycle: Callable[[int], Any],
        clock: LoopClock,
        log: logging.Logger,
        *,
        interval_s: float,
        bar_ms: int = 300_000,
        grace_ms: int = 2_000,
        max_cycles: int | None = None,
        until_ms: int | None = None,
        on_cycle: Callable[[int, float, bool], None] | None = None,
        in_thread: bool = True,
    ) -> None:
        self.cycle = cycle
        self.clock = clock
        self.log = log
        self.interval_ms = int(interval_s * 1000)
        self.bar_ms = bar_ms
        self.grace_ms = grace_ms
        self.max_cycles = max_cycles
        self.until_ms = until_ms
        self.on_cycle = on_cycle
        self.in_thread = in_thread
        self.stop_event = asyncio.Event()
        self.stats = LoopStats()
        self.running_since: float | None = None

    def request_stop(self, signame: str = "") -> None:
        if signame:
            self.stats.stopped_by_signal = True
            self.log.info("stop_requested", extra={"ctx": {"signal": signame, "cycle_running": self.running}})
        self.stop_event.set()

    @property
    def running(self) -> bool:
        return self.running_since is not None

    def _next(self, after_ms: int) -> int:
        return next_tick(after_ms, self.interval_ms, self.bar_ms, self.grace_ms)

    async def run(self) -> LoopStats:
        tick = self._next(self.clock.now_ms() - 1)
        while not self.stop_event.is_set():
            if self.max_cycles is not None and self.stats.cycles >= self.max_cycles:
                break
            if self.until_ms is not None and tick >= self.until_ms:
                break
            if not await self.clock.sleep_until(tick, self.stop_event):
                break
            _ok, duration_ms = await self._one(tick)
            after = self.clock.now_ms()
            nxt = self._next(tick)
            skipped = 0
            while nxt <= after:
                skipped += 1
                nxt = self._next(nxt)
            if skipped:
                self.stats.slow_cycles += 1
                self.stats.skipped_ticks += skipped
                self.log.warning(
                    "cycle_slow",
                    extra={
                        "ctx": {
                            "tick_ms": tick,
                            "duration_ms": round(duration_ms, 1),
                            "skipped_ticks": skipped,
                            "interval_s": self.interval_ms / 1000,
                            "next_tick_ms": nxt,
                        }
                    },
                )
            tick = nxt
        return self.stats

    async def _one(self, tick: int) -> tuple[bool, float]:
        self.running_since = time.perf_counter()
        ok = True
        try:
            if self.in_thread:
                await asyncio.to_thread(self.cycle, tick)
            else:
                self.cycle(tick)
        except Exception:
            ok = False
            self.stats.failed += 1
            self.log.exception("cycle_failed", extra={"ctx": {"tick_ms": tick}})
        duration_ms = (time.perf_counter() - self.running_since) * 1000.0
        self.running_since = None
        self.stats.cycles += 1
        self.stats.durations_ms.append(duration_ms)
        self.stats.first_tick_ms = self.stats.first_tick_ms or tick
        self.stats.last_tick_ms = tick
        if self.on_cycle is not None:
            try:
                self.on_cycle(tick, duration_ms, ok)
            except Exception:
                self.log.exception("cycle_hook_failed", extra={"ctx": {"tick_ms": tick}})
        return ok, duration_ms
