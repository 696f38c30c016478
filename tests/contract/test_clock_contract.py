"""Clock contract: now_ms is epoch ms and never decreases; sleep advances at least that long."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.clock import FakeClock
from ports.clock import Clock

CLOCKS: list[Any] = [pytest.param(lambda tmp_path: FakeClock(), id="mock")]


@pytest.fixture(params=CLOCKS)
def clock(request: pytest.FixtureRequest, tmp_path: Path) -> Clock:
    factory: Callable[[Path], Clock] = request.param
    return factory(tmp_path)


def test_is_a_clock(clock: Clock) -> None:
    assert isinstance(clock, Clock)


def test_monotone_and_sleep(clock: Clock) -> None:
    a = clock.now_ms()
    assert a > 1_500_000_000_000  # after 2017: epoch milliseconds, not seconds
    clock.sleep(0.01)
    b = clock.now_ms()
    assert b - a >= 10
