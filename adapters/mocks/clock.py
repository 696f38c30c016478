"""A fake clock: time moves only when told (sleep advances it)."""

from __future__ import annotations


class FakeClock:
    def __init__(self, start_ms: int = 1_704_067_200_000) -> None:  # 2024-01-01 00:00 UTC
        self._now = int(start_ms)

    def now_ms(self) -> int:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(round(seconds * 1000))

    def advance(self, ms: int) -> None:
        if ms < 0:
            raise ValueError("a clock never goes back")
        self._now += int(ms)

    def set(self, now_ms: int) -> None:
        self.advance(int(now_ms) - self._now)
