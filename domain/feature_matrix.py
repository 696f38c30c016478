"""A feature matrix: named float64 columns over bar timestamps (what FeatureStore stores)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import numpy as np
import numpy.typing as npt


def _i64(v: object) -> npt.NDArray[np.int64]:
    return np.ascontiguousarray(np.asarray(v, dtype=np.int64))


def _names(v: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(x) for x in v)


def _f64_2d(v: object) -> npt.NDArray[np.float64]:
    arr = np.ascontiguousarray(np.asarray(v, dtype=np.float64))
    return arr.reshape(arr.shape[0], -1) if arr.ndim == 1 else arr


@attrs.frozen(eq=False)
class FeatureMatrix:
    """values[i, j] is feature names[j] at bar ts[i] (bar open time, epoch ms UTC)."""

    pair: str
    timeframe: str
    version: str
    ts: npt.NDArray[np.int64] = attrs.field(converter=_i64)
    names: tuple[str, ...] = attrs.field(converter=_names)
    values: npt.NDArray[np.float64] = attrs.field(converter=_f64_2d)

    def __attrs_post_init__(self) -> None:
        if self.values.ndim != 2 or self.values.shape != (self.ts.shape[0], len(self.names)):
            raise ValueError(
                f"FeatureMatrix values shape {self.values.shape} != ({self.ts.shape[0]}, {len(self.names)})"
            )
        if len(set(self.names)) != len(self.names):
            raise ValueError("FeatureMatrix names must be unique")

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def column(self, name: str) -> npt.NDArray[np.float64]:
        return self.values[:, self.names.index(name)]

    def equals(self, other: FeatureMatrix) -> bool:
        return (
            (self.pair, self.timeframe, self.version, self.names)
            == (other.pair, other.timeframe, other.version, other.names)
            and np.array_equal(self.ts, other.ts)
            and np.array_equal(self.values, other.values, equal_nan=True)
        )
