"""Fit the calibration maps of `domain.calibration` on validation predictions (never on test)."""

from __future__ import annotations

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from domain.calibration import CalibrationMap, IdentityMap, IsotonicMap, PlattMap
from domain.evaluation import log_loss

_EPS = 1e-6


def fit_platt(p: np.ndarray, y: np.ndarray) -> PlattMap:
    q = np.clip(p, _EPS, 1 - _EPS)
    z = np.log(q / (1 - q)).reshape(-1, 1)
    lr = LogisticRegression(C=1e6, max_iter=1000)
    lr.fit(z, y.astype(int))
    # a negative slope would reverse the model's ranking; clamp to flat (the honest "no signal")
    return PlattMap(max(float(lr.coef_[0, 0]), 0.0), float(lr.intercept_[0]))


def fit_isotonic(p: np.ndarray, y: np.ndarray, max_knots: int = 200) -> IsotonicMap:
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip", increasing=True)
    iso.fit(p, y)
    x, v = np.asarray(iso.X_thresholds_), np.asarray(iso.y_thresholds_)
    x, keep = np.unique(x, return_index=True)
    v = np.maximum.accumulate(np.clip(v[keep], 0.0, 1.0))
    if x.shape[0] > max_knots:  # thin the knots so the stored map stays small
        sel = np.unique(np.linspace(0, x.shape[0] - 1, max_knots).round().astype(int))
        x, v = x[sel], v[sel]
    return IsotonicMap(x, v)


def fit_calibrators(p_val: np.ndarray, y_val: np.ndarray) -> dict[str, CalibrationMap]:
    return {"identity": IdentityMap(), "platt": fit_platt(p_val, y_val), "isotonic": fit_isotonic(p_val, y_val)}


def choose(p_val: np.ndarray, y_val: np.ndarray) -> tuple[str, dict[str, float]]:
    """Pick identity, Platt or isotonic by two-fold cross-fitting inside validation (time halves):
    fit on one half, score log loss on the other, both ways. Scoring a map on the data it was fitted
    on would always favour isotonic. Returns the winner and each kind's held-out log loss."""
    half = p_val.shape[0] // 2
    parts = [(slice(0, half), slice(half, None)), (slice(half, None), slice(0, half))]
    scores = {"identity": 0.0, "platt": 0.0, "isotonic": 0.0}
    for fit_sl, score_sl in parts:
        maps = fit_calibrators(p_val[fit_sl], y_val[fit_sl])
        for k, m in maps.items():
            scores[k] += log_loss(y_val[score_sl], m.apply_batch(p_val[score_sl])) / 2
    return min(scores, key=lambda k: scores[k]), scores
