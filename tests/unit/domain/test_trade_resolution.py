"""domain.trade_resolution: the shared bar rule (synthetic OHLC bars, hand-made for the mechanics)."""

from __future__ import annotations

import numpy as np
import pytest

from domain.trade_resolution import BarExit, first_bar_open_ms, first_exit


def bars(*rows: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Synthetic (open, high, low) rows."""
    a = np.array(rows, dtype=float)
    return a[:, 0], a[:, 1], a[:, 2]


def test_long_wick_to_the_stop_exits_at_the_stop_even_if_the_bar_recovers() -> None:
    o, h, lo = bars((100, 101, 99.5), (100, 100.5, 97.9), (100, 102, 99))
    assert first_exit(1, 98.0, 104.0, o, h, lo) == BarExit(1, "sl", 98.0)


def test_gap_through_the_stop_exits_at_the_open() -> None:
    o, h, lo = bars((100, 101, 99.5), (96.5, 97, 95))
    assert first_exit(1, 98.0, 104.0, o, h, lo) == BarExit(1, "sl", 96.5)
    # short: a bar opening above the stop
    o, h, lo = bars((100, 100.5, 99), (103, 104, 102.5))
    assert first_exit(-1, 102.0, 96.0, o, h, lo) == BarExit(1, "sl", 103.0)


def test_both_touched_in_one_bar_is_the_stop() -> None:
    o, h, lo = bars((100, 105, 97))
    assert first_exit(1, 98.0, 104.0, o, h, lo) == BarExit(0, "sl", 98.0)
    assert first_exit(-1, 104.0, 98.0, o, h, lo) == BarExit(0, "sl", 104.0)


def test_target_is_a_limit_order_and_none_means_no_target() -> None:
    o, h, lo = bars((100, 101, 99), (105, 106, 104.5))
    assert first_exit(1, 98.0, 104.0, o, h, lo) == BarExit(1, "tp", 104.0)  # gap beyond the target: at the target
    assert first_exit(1, 98.0, None, o, h, lo) is None
    assert first_exit(-1, 110.0, 90.0, o, h, lo) is None


@pytest.mark.parametrize(("entry", "grid"), [(0, 0), (1, 300_000), (300_000, 300_000), (300_001, 600_000)])
def test_first_bar_open_is_the_ceiling_on_the_grid(entry: int, grid: int) -> None:
    assert first_bar_open_ms(entry, 300_000) == grid
