"""SYNTHETIC data for the tuner's mechanics tests (never market data): random-walk 1h candles of two
made-up pairs with the momentum baseline's probabilities, cut into folds by the walk-forward's split."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from composition.config import Config, TuningConfig
from composition.tuning.objective import TuneData, build_tune_data, trial_job
from domain.backtest.baseline import MomentumSignPredictor
from domain.backtest.engine import PairData
from domain.execution_costs import FixedCostModel
from domain.market import Candles, Timeframe
from domain.trading import SymbolSpec

SPACE = "sl_atr_mult=1.0..3.0,reward_risk=1.0..3.0,tier_low=0.55..0.62,hysteresis_scans=1..3,horizon_bars=2..8"


def synthetic_pairs(days: int = 60, seed: int = 5) -> list[PairData]:
    rng = np.random.default_rng(seed)
    n = days * 24
    out = []
    for k, sym in enumerate(("SYNA/USDT", "SYNB/USDT")):
        close = 100 * (k + 1) * np.exp(np.cumsum(rng.normal(0, 0.006, n)))
        open_ = np.concatenate(([close[0]], close[:-1]))
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.003, n))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.003, n))
        ts = 1_735_689_600_000 + np.arange(n, dtype=np.int64) * Timeframe.H1.ms  # 2025-01-01
        c = Candles(sym, Timeframe.H1, ts, open_, high, low, close, rng.uniform(1, 2, n))
        out.append(
            PairData(
                sym,
                c,
                {"momentum": MomentumSignPredictor().probs(c.close)},
                SymbolSpec(sym, sym.replace("/USDT", "USD"), margin_rate=0.5),
            )
        )
    return out


def config(**tuning: Any) -> Config:
    t = attrs.evolve(TuningConfig(), space=SPACE, folds=2, batch=2, challenge_runs=3, **tuning)
    return attrs.evolve(Config(), seed=7, tuning=t)


def tune_data(**tuning: Any) -> TuneData:
    return build_tune_data(config(**tuning), synthetic_pairs(), ("momentum",), 300, FixedCostModel(4.0, 1.0))


def slow_job(data: TuneData, params: dict[str, Any]) -> dict[str, Any]:
    """A trial that takes a while, so a test can kill the run in the middle of one. With
    TUNE_TEST_HOLD_DIR set, every trial after the second is held for a minute (trials run one at a time),
    so the killing test never races a run that has already finished."""
    hold = os.environ.get("TUNE_TEST_HOLD_DIR")
    if hold:
        started = len(os.listdir(hold))
        Path(hold, f"trial-{started}").touch()
        if started >= 2:
            time.sleep(60)
    time.sleep(float(os.environ.get("TUNE_TEST_SLEEP", "0.3")))
    return trial_job(data, params)


def die_once_job(data: tuple[TuneData, str], params: dict[str, Any]) -> dict[str, Any]:
    """The first trial to start kills its own worker process (SIGKILL: no cleanup, as an OOM kill);
    every later one runs normally."""
    d, marker_dir = data
    try:
        fd = os.open(str(Path(marker_dir) / "died"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return trial_job(d, params)
    os.close(fd)
    import signal

    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")
