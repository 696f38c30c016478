"""training.calibration_fit on SYNTHETIC probabilities with a known miscalibration."""

from __future__ import annotations

import numpy as np

from domain import evaluation as ev
from training.calibration_fit import choose, fit_isotonic, fit_platt


def _overconfident(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    true_p = rng.uniform(0.3, 0.7, n)
    y = (rng.random(n) < true_p).astype(float)
    logit = np.log(true_p / (1 - true_p))
    shown = 1 / (1 + np.exp(-3 * logit))  # three times too confident
    return shown, y


def test_platt_undoes_overconfidence() -> None:
    p, y = _overconfident(20_000, 0)
    m = fit_platt(p, y)
    assert abs(m.a - 1 / 3) < 0.05
    p2, y2 = _overconfident(20_000, 1)
    assert ev.expected_calibration_error(y2, m.apply_batch(p2)) < ev.expected_calibration_error(y2, p2) / 3


def test_isotonic_is_monotone_and_improves_ece_out_of_sample() -> None:
    p, y = _overconfident(20_000, 2)
    m = fit_isotonic(p, y)
    assert all(b >= a for a, b in zip(m.y, m.y[1:], strict=False))
    p2, y2 = _overconfident(20_000, 3)
    assert ev.expected_calibration_error(y2, m.apply_batch(p2)) < ev.expected_calibration_error(y2, p2)


def test_choose_keeps_identity_for_already_calibrated_noise() -> None:
    rng = np.random.default_rng(4)
    p = rng.uniform(0.45, 0.55, 4000)
    y = (rng.random(4000) < p).astype(float)
    _kind, scores = choose(p, y)
    assert set(scores) == {"identity", "platt", "isotonic"}
    assert scores["isotonic"] > scores["identity"]  # held-out: isotonic overfits pure noise
    kind2, _ = choose(*_overconfident(8000, 5))
    assert kind2 in ("platt", "isotonic")
