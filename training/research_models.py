"""The research grid's fitted models: the project's baselines (training/baselines.py) on one fold's
last-bar features, each returning up-probabilities for the validation and test rows.

Module-level functions, so the process pool of `services.research` can pickle them by name. The
features arrive standardised on the fold's training rows (services.research does that) and
without NaN rows (rows with an undefined feature are not samples).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from services.research import FitData
from training import baselines as bl
from training.datasets import WindowSet

ModelFn = Callable[[FitData], tuple[np.ndarray, np.ndarray]]


def _set(x: np.ndarray, y: np.ndarray) -> WindowSet:
    n = int(x.shape[0])
    return WindowSet(
        np.ascontiguousarray(x, dtype=np.float32),
        np.arange(n, dtype=np.int64),
        np.zeros(n, dtype=np.int64),
        y.astype(np.float32),
        np.zeros(n, dtype=np.float32),
        1,
    )


def _sets(d: FitData) -> tuple[WindowSet, WindowSet, WindowSet]:
    return _set(d.x_train, d.y_train), _set(d.x_val, d.y_val), _set(d.x_test, np.zeros(d.x_test.shape[0]))


def majority(d: FitData) -> tuple[np.ndarray, np.ndarray]:
    tr, va, te = _sets(d)
    pv, pt = bl.majority(tr, va, te)
    return pv, pt


def persistence(d: FitData) -> tuple[np.ndarray, np.ndarray]:
    tr, va, te = _sets(d)
    pv, pt = bl.persistence(tr, d.last_train, (va, d.last_val), (te, d.last_test))
    return pv, pt


def logistic(d: FitData) -> tuple[np.ndarray, np.ndarray]:
    from threadpoolctl import threadpool_limits

    tr, va, te = _sets(d)
    with threadpool_limits(1):  # one BLAS thread per worker: the pool is the parallelism
        pv, pt = bl.logistic(tr, va, te, seed=d.seed)
    return pv, pt


def lightgbm(d: FitData) -> tuple[np.ndarray, np.ndarray]:
    tr, va, te = _sets(d)
    pv, pt = bl.lightgbm(tr, va, te, seed=d.seed, threads=1)
    return pv, pt


FITTED: dict[str, ModelFn] = {
    "majority": majority,
    "persistence": persistence,
    "logistic": logistic,
    "lightgbm": lightgbm,
}
