"""Clocks for the loop: the wall clock in production, a replay clock that jumps (or runs N x faster)
over historical time. Both satisfy ports.clock.Clock for the services and add an awaitable
`sleep_until` for the loop that a stop request interrupts.
"""

from __future__ import annotations

import asyncio
import threading
import time


class SystemClock:
    """Wall-clock UTC milliseconds; never decreases even if the OS clock steps back."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            self._last = max(self._last, int(time.time() * 1000))
            return self._last

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    async def sleep_until(self, target_ms: int, stop: asyncio.Event) -> bool:
        """Wait until target_ms; False when `stop` was set first."""
        while not stop.is_set():
            remaining = (target_ms - self.now_ms()) / 1000.0
            if remaining <= 0:
                return True
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(remaining, 1.0))
            except TimeoutError:
                continue
        return False


class ReplayClock:
    """Historical time. `speed=None` (max) jumps straight to each target; `speed=k` waits
    (target - now) / k real seconds first. Only the loop and explicit `sleep`/`advance` move it."""

    def __init__(self, start_ms: int, speed: float | None = None) -> None:
        if speed is not None and speed <= 0:
            raise ValueError("speed must be positive (or None for max)")
        self._now = int(start_ms)
        self.speed = speed
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        with self._lock:
            return self._now

    def set(self, at_ms: int) -> None:
        with self._lock:
            self._now = max(self._now, int(at_ms))

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += round(seconds * 1000)

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    async def sleep_until(self, target_ms: int, stop: asyncio.Event) -> bool:
        if stop.is_set():
            return False
        delta = target_ms - self.now_ms()
        if self.speed is not None and delta > 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=delta / 1000.0 / self.speed)
                return False
            except TimeoutError:
                pass
        else:
            await asyncio.sleep(0)  # let the health server and the notifier queue breathe
        self.set(target_ms)
        return not stop.is_set()
