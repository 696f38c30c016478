"""The watch's compiled equity sum is the simulated broker's: balance plus every open position's
Position.pnl_at at its pair's mark, summed in opening order, to the last bit."""

from __future__ import annotations

import numpy as np

from domain.backtest.engine import _first_below, _grid_equity
from domain.signals import Direction
from domain.trading import Position


def test_grid_equity_is_the_broker_sum_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    n_pairs, n_grid = 3, 400
    gmark = rng.uniform(10.0, 70_000.0, (n_pairs, n_grid))
    gvalid = rng.random((n_pairs, n_grid)) > 0.1  # before a pair's first close: marked at the entry
    balance = 987_654.321
    positions = []
    for q in range(7):
        r = int(rng.integers(0, n_pairs))
        d = Direction.LONG if rng.random() < 0.5 else Direction.SHORT
        p = Position(
            f"p{q}", f"P{r}/USDT", d, float(rng.uniform(0.01, 100.0)), float(rng.uniform(10.0, 7e4)), 1.0, 2.0, 0
        )
        positions.append((r, p, float(rng.choice([1.0, 0.1, 100.0]))))
    rank = np.array([r for r, _, _ in positions], dtype=np.int64)
    sign = np.array([p.direction.sign for _, p, _ in positions], dtype=np.float64)
    entry = np.array([p.entry for _, p, _ in positions])
    vol = np.array([p.volume for _, p, _ in positions])
    cs = np.array([c for _, _, c in positions])
    i, j = 17, 311
    eq = _grid_equity(balance, gmark, gvalid, i, j, rank, sign, entry, vol, cs)
    for t in range(i, j):
        floating = 0.0
        for r, p, c in positions:
            floating += p.pnl_at(float(gmark[r, t]) if gvalid[r, t] else p.entry, c)
        assert eq[t - i] == balance + floating
    assert len({float(x) for x in eq}) > 100  # the marks move the equity (the test could fail)


def test_first_below_finds_the_first_close_under_the_floor_in_the_range() -> None:
    x = np.array([5.0, 3.0, 1.0, 0.5, 2.0, 0.1])
    assert _first_below(x, 0, 6, 1.0) == 3
    assert _first_below(x, 4, 6, 1.0) == 1
    assert _first_below(x, 0, 3, 1.0) == -1  # 1.0 is not below 1.0
    assert _first_below(x, 0, 6, np.nan) == -1
