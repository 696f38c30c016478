"""training.loop on SYNTHETIC windows: same seed -> same weights and metrics on CPU; --resume
reproduces the uninterrupted run; early stopping keeps the best epoch's weights."""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np
import torch

from training.datasets import WindowSet
from training.loop import LoopConfig, fit, predict
from training.networks import LSTMDirection, TrendTransformer


def _ws(n: int, seed: int) -> WindowSet:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + 8, 3)).astype(np.float32)
    ends = np.arange(7, n + 7)
    # learnable: direction follows the sign of feature 0 at the last bar, with noise
    y = ((x[ends, 0] + rng.normal(0, 1.0, n)) > 0).astype(np.float32)
    return WindowSet(x, ends, np.zeros(n, dtype=np.int64), y, x[ends, 1].copy(), 8)


CFG = LoopConfig(epochs=3, batch_size=32, lr=2e-2, patience=5, seed=7, device="cpu")


def _train(
    kind: str, ckpt: Path | None = None, cfg: LoopConfig = CFG, resume: bool = False
) -> tuple[torch.nn.Module, float]:
    torch.manual_seed(3)
    net = LSTMDirection(3, 8) if kind == "lstm" else TrendTransformer(3, 1, 8, 8, 2, 1, 16)
    res = fit(net, _ws(600, 0), _ws(200, 1), cfg, ckpt, resume)
    return net, res.best_val_loss


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_same_seed_same_weights_and_metrics() -> None:
    for kind in ("lstm", "transformer"):
        (a, la), (b, lb) = _train(kind), _train(kind)
        assert _same(a, b) and la == lb
        np.testing.assert_array_equal(predict(a, _ws(200, 2))["prob_up"], predict(b, _ws(200, 2))["prob_up"])


def test_it_learns_a_learnable_signal() -> None:
    net, _ = _train("lstm")
    p = predict(net, _ws(400, 3))["prob_up"]
    assert np.mean((p >= 0.5) == (_ws(400, 3).direction > 0.5)) > 0.6


def test_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    full, lf = _train("lstm", tmp_path / "full.ckpt")
    # "interrupted" after 2 epochs, then resumed to 3
    _train("lstm", tmp_path / "part.ckpt", attrs.evolve(CFG, epochs=2))
    resumed, lr_ = _train("lstm", tmp_path / "part.ckpt", CFG, resume=True)
    assert _same(full, resumed) and lf == lr_


def test_resume_refuses_a_checkpoint_from_a_different_run(tmp_path: Path) -> None:
    import pytest

    from domain.errors import UserError

    _train("lstm", tmp_path / "x.ckpt", attrs.evolve(CFG, epochs=1))
    with pytest.raises(UserError, match="different run"):
        _train("lstm", tmp_path / "x.ckpt", attrs.evolve(CFG, lr=1e-3), resume=True)
