"""Named baseline predictors for when no trained model is at hand (and for naive comparisons).

`MomentumSignPredictor`: the up-probability is a squashed, volatility-scaled momentum of the last
`lookback` closes. It is causal (row i uses closes 0..i only) and honest about what it is: a
baseline, not a trained model; reports carry its name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from domain.market import Candles
from domain.signals import Prediction

FloatArray = npt.NDArray[np.float64]


@attrs.frozen
class MomentumSignPredictor:
    """p_up = 1 / (1 + exp(-scale * r_k / (sigma_1 * sqrt(k)))), r_k the k-bar log return, sigma_1
    the std of 1-bar log returns over `vol_window` bars. NaN until enough history."""

    lookback: int = 12
    vol_window: int = 48
    scale: float = 0.6
    name: str = "momentum"
    version: str = "baseline-1"

    def probs(self, close: FloatArray) -> FloatArray:
        """The batch form: one up-probability per bar (what is known when that bar closes)."""
        c = np.asarray(close, dtype=np.float64)
        n = c.shape[0]
        out = np.full(n, np.nan)
        k, w = self.lookback, self.vol_window
        if n <= max(k, w):
            return out
        lc = np.log(c)
        r1 = np.diff(lc)
        cs = np.concatenate(([0.0], np.cumsum(r1)))
        cs2 = np.concatenate(([0.0], np.cumsum(r1 * r1)))
        i0 = max(k, w)  # rows i0..n-1, as contiguous slices (no index arrays to gather through)
        rk = lc[i0:] - lc[i0 - k : n - k]
        s1 = cs[i0:] - cs[i0 - w : n - w]
        s2 = cs2[i0:] - cs2[i0 - w : n - w]
        var = np.maximum(s2 / w - (s1 / w) ** 2, 0.0)
        sigma = np.sqrt(var)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(sigma > 0, rk / (sigma * np.sqrt(k)), 0.0)
        out[i0:] = 1.0 / (1.0 + np.exp(-self.scale * z))
        return out

    def predict(self, inputs: Mapping[str, Any]) -> list[Prediction]:
        """The per-scan form over raw candles: the batch form's last row (so both agree exactly)."""
        out: list[Prediction] = []
        for pair, candles in inputs.items():
            if not isinstance(candles, Candles):
                continue
            p = self.probs(candles.close)
            if p.shape[0] and not np.isnan(p[-1]):
                out.append(Prediction(pair, float(p[-1]), self.name, self.version))
        return out
