"""Feature standardisation fitted on the training window only and saved with the model.

Fitting on all the data would leak the future's mean and spread into the past; so `fit` takes a
row mask (the training window) and the fitted statistics travel with the model (`to_dict`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from domain.market import BoolArray, FloatArray


def _names(v: Iterable[str]) -> tuple[str, ...]:
    return tuple(str(n) for n in v)


def _f64(v: object) -> FloatArray:
    return np.ascontiguousarray(np.asarray(v, dtype=np.float64)).reshape(-1)


@attrs.frozen(eq=False)
class Standardiser:
    """z = (x - mean) / std per column; a column with zero or undefined spread gets std 1."""

    mean: FloatArray = attrs.field(converter=_f64)
    std: FloatArray = attrs.field(converter=_f64)
    names: tuple[str, ...] = attrs.field(default=(), converter=_names)

    def __attrs_post_init__(self) -> None:
        if self.mean.shape != self.std.shape:
            raise ValueError(f"mean {self.mean.shape} and std {self.std.shape} differ in shape")
        if self.names and len(self.names) != self.mean.shape[0]:
            raise ValueError(f"{len(self.names)} names for {self.mean.shape[0]} columns")
        if bool(np.any(~np.isfinite(self.std) | (self.std <= 0))):
            raise ValueError("std must be finite and > 0")

    @classmethod
    def fit(cls, values: object, mask: BoolArray | None = None, names: Sequence[str] = ()) -> Standardiser:
        """Fit on the rows where `mask` is True (all rows if None), ignoring NaN per column."""
        x = np.asarray(values, dtype=np.float64)
        if x.ndim == 1:
            x = x.reshape(-1, 1)
        rows = x if mask is None else x[np.asarray(mask, dtype=np.bool_)]
        finite = np.isfinite(rows)
        count = finite.sum(axis=0)
        safe = np.where(finite, rows, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = safe.sum(axis=0) / count
            dev = np.where(finite, rows - mean, 0.0)
            var = (dev * dev).sum(axis=0) / (count - 1)
        mean = np.where(count > 0, mean, 0.0)
        std = np.sqrt(np.where(count > 1, var, 1.0))
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        return cls(mean, std, _names(names))

    def apply(self, values: object) -> FloatArray:
        """Standardised copy; NaN stays NaN."""
        x = np.asarray(values, dtype=np.float64)
        if x.shape[-1] != self.mean.shape[0]:
            raise ValueError(f"expected {self.mean.shape[0]} columns, got {x.shape[-1]}")
        return np.asarray((x - self.mean) / self.std, dtype=np.float64)

    def invert(self, values: object) -> FloatArray:
        x = np.asarray(values, dtype=np.float64)
        return np.asarray(x * self.std + self.mean, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist(), "names": list(self.names)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Standardiser:
        return cls(data["mean"], data["std"], _names(data.get("names", ())))
