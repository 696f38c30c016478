"""Stop and target levels from the ATR: one formula, scalar and array forms (identical numbers)."""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@attrs.frozen
class LevelRule:
    """SL at `sl_atr` ATRs from the entry, TP at `rr` times the stop distance on the other side."""

    atr_window: int = 14
    sl_atr: float = 1.5
    rr: float = 1.5

    def levels(self, entry: float, atr_value: float, sign: int) -> tuple[float, float]:
        d = self.sl_atr * atr_value
        return entry - sign * d, entry + sign * (self.rr * d)

    def levels_batch(self, entry: FloatArray, atr_values: FloatArray, sign: npt.NDArray[np.int64]) -> tuple[
        FloatArray, FloatArray
    ]:
        d = self.sl_atr * atr_values
        return entry - sign * d, entry + sign * (self.rr * d)
