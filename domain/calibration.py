"""Calibration maps: fitted parameters applied purely (fitting lives in training/).

Each map is monotone non-decreasing on [0, 1] and has a scalar `apply` and an array `apply_batch`
that give identical results.
"""

from __future__ import annotations

import math
from typing import Protocol

import attrs
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
_EPS = 1e-12


class CalibrationMap(Protocol):
    @property
    def kind(self) -> str: ...

    def apply(self, p: float) -> float: ...

    def apply_batch(self, p: FloatArray) -> FloatArray: ...


@attrs.frozen
class IdentityMap:
    kind: str = "identity"

    def apply(self, p: float) -> float:
        return min(1.0, max(0.0, float(p)))

    def apply_batch(self, p: FloatArray) -> FloatArray:
        return np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)


@attrs.frozen
class PlattMap:
    """p' = sigmoid(a * logit(p) + b), fitted on held-out predictions. a >= 0 keeps it monotone."""

    a: float = attrs.field(converter=float)
    b: float = attrs.field(converter=float)
    kind: str = "platt"

    @a.validator
    def _monotone(self, _att: object, v: float) -> None:
        if not v >= 0 or math.isinf(v):
            raise ValueError(f"Platt slope a must be finite and >= 0 (monotone), got {v}")

    def apply(self, p: float) -> float:
        # Through the array form: numpy's and math's log/exp may differ in the last bit.
        return float(self.apply_batch(np.array([p], dtype=np.float64))[0])

    def apply_batch(self, p: FloatArray) -> FloatArray:
        q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
        z = self.a * np.log(q / (1.0 - q)) + self.b
        out = np.empty_like(z)
        pos = z >= 0
        out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
        e = np.exp(z[~pos])
        out[~pos] = e / (1.0 + e)
        return out


def _f64_tuple(v: object) -> tuple[float, ...]:
    return tuple(float(x) for x in np.asarray(v, dtype=np.float64).ravel())


@attrs.frozen
class IsotonicMap:
    """Piecewise-linear interpolation through fitted (x, y) knots; x increasing, y non-decreasing.

    Outside the knots the end values hold (like sklearn's out_of_bounds="clip").
    """

    x: tuple[float, ...] = attrs.field(converter=_f64_tuple)
    y: tuple[float, ...] = attrs.field(converter=_f64_tuple)
    kind: str = "isotonic"

    def __attrs_post_init__(self) -> None:
        if len(self.x) != len(self.y) or len(self.x) < 1:
            raise ValueError("isotonic map needs equally many x and y knots (at least one)")
        if any(b <= a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise ValueError("isotonic knots x must be strictly increasing")
        if any(b < a for a, b in zip(self.y, self.y[1:], strict=False)):
            raise ValueError("isotonic values y must be non-decreasing (monotone map)")
        if any(not 0.0 <= v <= 1.0 for v in self.y):
            raise ValueError("isotonic values y must lie in [0, 1]")

    def apply(self, p: float) -> float:
        return float(np.interp(float(p), self.x, self.y))

    def apply_batch(self, p: FloatArray) -> FloatArray:
        return np.interp(np.asarray(p, dtype=np.float64), self.x, self.y)


def calibration_from_dict(d: dict[str, object]) -> CalibrationMap:
    """Rebuild a map from its stored parameters: {"kind": "platt", "a": .., "b": ..} etc."""
    kind = d.get("kind", "identity")
    if kind == "platt":
        return PlattMap(float(d["a"]), float(d["b"]))  # type: ignore[arg-type]
    if kind == "isotonic":
        return IsotonicMap(d["x"], d["y"])
    if kind == "identity":
        return IdentityMap()
    raise ValueError(f"unknown calibration kind {kind!r}; valid: identity, platt, isotonic")


def calibration_to_dict(m: CalibrationMap) -> dict[str, object]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in attrs.asdict(m).items()}  # type: ignore[arg-type]
