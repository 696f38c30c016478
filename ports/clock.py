"""Clock: the only source of time for services (real, fake, replay)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Contract: `now_ms()` is epoch milliseconds UTC and never decreases between calls;
    `sleep(seconds)` returns after the clock advanced by at least `seconds` (a fake clock just
    advances)."""

    def now_ms(self) -> int: ...

    def sleep(self, seconds: float) -> None: ...
