"""Backtest use cases.

- `run_batch`: the batch engine (domain.backtest.engine) over whole periods: the fast path.
- `replay_live`: the live scan-cycle service itself, driven bar by bar by a fake clock over replay
  market data with the simulated broker; what the batch engine is proven identical to.
- `run_walk_forward`: independent periods in parallel processes; each period's seed is derived
  from the run seed and the period index, so a parallel run equals a serial one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor

import attrs
import numpy as np

from domain import policy as pol
from domain.backtest.engine import EngineConfig, EngineResult, PairData, run
from domain.execution_costs import CostModel
from services.outcome_tracking import session_end_ms
from services.scan_cycle import CycleReport, ScanCycle


def period_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def run_batch(pairs: Sequence[PairData], cfg: EngineConfig, costs: CostModel, seed: int) -> EngineResult:
    return run(pairs, cfg, costs, np.random.default_rng(seed))


@attrs.frozen(eq=False)
class Period:
    index: int
    pairs: tuple[PairData, ...]


def _run_period(args: tuple[Period, EngineConfig, CostModel, int]) -> tuple[int, EngineResult]:
    p, cfg, costs, seed = args
    return p.index, run(p.pairs, cfg, costs, np.random.default_rng(period_seed(seed, p.index)))


def run_walk_forward(
    periods: Sequence[Period], cfg: EngineConfig, costs: CostModel, seed: int, workers: int = 1
) -> list[EngineResult]:
    """Run each period on its own account; results in period order, identical for any `workers`."""
    jobs = [(p, cfg, costs, seed) for p in periods]
    if workers <= 1 or len(jobs) <= 1:
        done = [_run_period(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(_run_period, jobs))
    return [r for _, r in sorted(done, key=lambda x: x[0])]


def replay_live(
    scan: ScanCycle,
    set_clock: Callable[[int], None],
    take_closed: Callable[[], list[tuple[int, str, float]]],
    scan_times: Sequence[int],
) -> list[CycleReport]:
    """Run the live scan cycle at each of `scan_times`; closed losing trades feed the loss backoff
    first (as the live outcome tracker does), in exit order."""
    reports = []
    desk = scan.desk
    for t in scan_times:
        set_clock(int(t))
        for exit_at, _pid, pnl in take_closed():
            if pnl < 0:
                desk.set_policy(pol.record_loss(desk.policy_cfg, desk.policy, exit_at, session_end_ms(exit_at)))
        reports.append(scan.run_once())
    return reports
