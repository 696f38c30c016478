"""Breach counting: one floor crossing is one episode, however many days it keeps the desk halted.
Synthetic candles (random walks from test_lifecycle_engine): mechanics only."""

from __future__ import annotations

import numpy as np

from domain.backtest.engine import BLOCK_CODES, run
from domain.execution_costs import FixedCostModel
from domain.prague_time import next_day_start_ms
from domain.signals import BlockReason
from tests.unit.backtest.test_lifecycle_engine import CFG, _random_pairs


def test_an_account_parked_below_the_floor_is_one_episode_relatched_every_day() -> None:
    rules = CFG.rules
    start = rules.total_floor(rules.initial_balance) - 100.0  # below our floor, above FTMO's
    pairs = _random_pairs(5, n=3000)  # ~10 days of 5m bars
    res = run(pairs, CFG, FixedCostModel(5, 2), np.random.default_rng(5), start_balance=start)
    assert res.trades["pnl"].shape[0] == 0 and res.final_balance == start
    halted = res.blocks["reason"] == BLOCK_CODES[BlockReason.HALTED]
    days = {next_day_start_ms(int(t)) for t in res.blocks["at_ms"][halted]}
    # the halt is latched again on each day that has a candidate, but it is one crossing
    assert res.breach_halt_days == len(days) >= 5
    assert (res.breach_episodes, res.ftmo_breach_episodes) == (1, 0)


def test_an_account_that_stays_above_its_floors_has_no_episode() -> None:
    res = run(_random_pairs(6, n=1500), CFG, FixedCostModel(5, 2), np.random.default_rng(6))
    assert res.trades["pnl"].shape[0] > 0
    assert (res.breach_episodes, res.ftmo_breach_episodes, res.breach_halt_days) == (0, 0, 0)
