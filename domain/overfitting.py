"""Is the best of many backtests luck? The deflated Sharpe ratio and the PBO from CSCV.

- `deflated_sharpe_ratio` (Bailey & Lopez de Prado, "The Deflated Sharpe Ratio", 2014): the
  probability that the true Sharpe ratio of the selected trial exceeds the Sharpe ratio the best of
  `n_trials` unskilled trials would show by chance (`expected_max_sharpe`), given the track record's
  length, skewness and kurtosis. Below 0.95 the "best" is not distinguishable from luck.
- `pbo_cscv` (Bailey, Borwein, Lopez de Prado, Zhu, "The Probability of Backtest Overfitting",
  2015): the returns matrix (T observations x N trials) is cut into S blocks; for every way of
  choosing S/2 blocks as in-sample, the in-sample best trial's out-of-sample rank is taken; PBO is
  the share of splits where that rank is at or below the median (logit <= 0).

Pure numpy + stdlib (statistics.NormalDist for the normal quantiles).
"""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import attrs
import numpy as np
import numpy.typing as npt

EULER_GAMMA = 0.5772156649015329
_N = NormalDist()

FloatArray = npt.NDArray[np.float64]


def sharpe(returns: npt.ArrayLike) -> float:
    """Per-observation Sharpe ratio (mean / sample std); 0 for a flat or too short series."""
    r = np.asarray(returns, dtype=np.float64)
    if r.shape[0] < 2:
        return 0.0
    sd = float(r.std(ddof=1))
    return float(r.mean()) / sd if sd > 0 else 0.0


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """E[max SR] of `n_trials` independent unskilled trials whose Sharpe ratios vary by `sharpe_variance`."""
    if n_trials < 2 or sharpe_variance <= 0:
        return 0.0
    a = _N.inv_cdf(1 - 1 / n_trials)
    b = _N.inv_cdf(1 - 1 / (n_trials * math.e))
    return math.sqrt(sharpe_variance) * ((1 - EULER_GAMMA) * a + EULER_GAMMA * b)


def probabilistic_sharpe_ratio(sr: float, benchmark: float, n_obs: int, skew: float, kurtosis: float) -> float:
    """P(true SR > benchmark) for an observed per-observation `sr` over `n_obs` observations
    (`kurtosis` is the plain, non-excess kurtosis: 3 for a normal distribution)."""
    if n_obs < 2:
        return float("nan")
    denom = 1 - skew * sr + (kurtosis - 1) / 4 * sr * sr
    if denom <= 0:
        return float("nan")
    return _N.cdf((sr - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom))


@attrs.frozen
class DeflatedSharpe:
    sharpe: float  # the selected trial's per-observation Sharpe ratio
    benchmark: float  # the expected maximum Sharpe ratio of n_trials unskilled trials
    n_trials: int
    n_obs: int
    dsr: float  # P(true SR > benchmark)

    @property
    def significant(self) -> bool:
        return self.dsr >= 0.95


def deflated_sharpe_ratio(returns: npt.ArrayLike, n_trials: int, sharpe_variance: float) -> DeflatedSharpe:
    """The DSR of the selected trial's `returns` among `n_trials` trials whose per-observation Sharpe
    ratios have variance `sharpe_variance`."""
    r = np.asarray(returns, dtype=np.float64)
    sr = sharpe(r)
    n = int(r.shape[0])
    sd = float(r.std()) if n else 0.0
    skew = float(np.mean(((r - r.mean()) / sd) ** 3)) if sd > 0 else 0.0
    kurt = float(np.mean(((r - r.mean()) / sd) ** 4)) if sd > 0 else 3.0
    bench = expected_max_sharpe(n_trials, sharpe_variance)
    return DeflatedSharpe(sr, bench, int(n_trials), n, probabilistic_sharpe_ratio(sr, bench, n, skew, kurt))


@attrs.frozen
class Pbo:
    pbo: float  # share of splits whose in-sample best ranks at or below the out-of-sample median
    splits: int
    blocks: int
    logits: tuple[float, ...]


def pbo_cscv(returns: npt.ArrayLike, blocks: int = 8) -> Pbo:
    """PBO of a T x N matrix of per-observation returns (N trials) by CSCV over `blocks` (even) blocks,
    with the Sharpe ratio as the performance measure."""
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError("pbo_cscv needs a T x N matrix with at least 2 trials")
    if blocks < 2 or blocks % 2 or m.shape[0] < blocks * 2:
        raise ValueError(
            f"pbo_cscv needs an even number of blocks >= 2 and at least 2 rows per block "
            f"(T={m.shape[0]}, blocks={blocks})"
        )
    parts = np.array_split(np.arange(m.shape[0]), blocks)
    n = m.shape[1]
    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        is_rows = np.concatenate([parts[i] for i in chosen])
        oos_rows = np.concatenate([parts[i] for i in range(blocks) if i not in chosen])
        is_perf = np.array([sharpe(m[is_rows, j]) for j in range(n)])
        oos_perf = np.array([sharpe(m[oos_rows, j]) for j in range(n)])
        best = int(np.argmax(is_perf))
        # relative rank in (0, 1) of the in-sample best among the out-of-sample results
        rank = float((oos_perf < oos_perf[best]).sum() + 0.5 * ((oos_perf == oos_perf[best]).sum() - 1) + 1)
        w = rank / (n + 1)
        logits.append(math.log(w / (1 - w)))
    lg = np.asarray(logits)
    return Pbo(float((lg <= 0).mean()), int(lg.shape[0]), blocks, tuple(float(x) for x in lg))


__all__ = [
    "DeflatedSharpe",
    "Pbo",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "pbo_cscv",
    "probabilistic_sharpe_ratio",
    "sharpe",
]
