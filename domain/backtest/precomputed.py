"""A Predictor that serves predictions computed up front for the whole period.

The backtest computes every bar's prediction causally in one batch (row i sees bars <= i only),
then the per-scan code asks this object, exactly as it would ask a live model. It answers for the
pair's last closed bar and leaves a pair out when it has nothing for that bar (as the Predictor
contract says: never guess).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from domain.signals import Prediction


def _last_ts(value: Any) -> int | None:
    ts = getattr(value, "ts", None)
    if ts is None or len(ts) == 0:
        return None
    return int(ts[-1])


@attrs.frozen(eq=False)
class PrecomputedPredictor:
    """`table[pair] = (bar open times, up-probabilities)`; NaN means no prediction for that bar."""

    name: str
    version: str
    table: Mapping[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]]

    def prob_at(self, pair: str, ts_ms: int) -> float | None:
        entry = self.table.get(pair)
        if entry is None:
            return None
        ts, p = entry
        i = int(np.searchsorted(ts, ts_ms))
        if i >= ts.shape[0] or int(ts[i]) != ts_ms or np.isnan(p[i]):
            return None
        return float(p[i])

    def predict(self, inputs: Mapping[str, Any]) -> list[Prediction]:
        out: list[Prediction] = []
        for pair, value in inputs.items():
            last = _last_ts(value)
            if last is None:
                continue
            prob = self.prob_at(pair, last)
            if prob is not None:
                out.append(Prediction(pair, prob, self.name, self.version))
        return out
