"""training.batch_predict on SYNTHETIC feature rows (mechanics only) with fresh-weight networks: every
bar's batched probability equals what TorchPredictor.predict gives on the rows up to that bar, and the
bars it refuses (warm-up, NaN rows, gaps) are exactly the ones predict leaves out."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from domain.calibration import IdentityMap, PlattMap, calibration_to_dict
from domain.feature_matrix import FeatureMatrix
from domain.features import FeatureParams
from domain.normalisation import Standardiser
from training.batch_predict import predictor_probs, ready_mask
from training.networks import LSTMDirection, TrendTransformer
from training.predictor import TorchPredictor

from .conftest import synthetic_candles, toy_matrix

L = 6


def _predictor(kind: str, fm: FeatureMatrix, calibration: object) -> TorchPredictor:
    torch.manual_seed(3)
    nf = len(fm.names)
    net = LSTMDirection(nf, 8, 1, 0.0) if kind == "lstm" else TrendTransformer(nf, 2, L, 8, 2, 1, 16, 0.0)
    meta = {
        "seq_len": L,
        "horizon_bars": 3,
        "timeframe": "5m",
        "feature_names": list(fm.names),
        "feature_params": FeatureParams().to_dict(),
        "pairs": {
            fm.pair: {
                "standardiser": Standardiser.fit(fm.values).to_dict(),
                "calibration": calibration_to_dict(calibration),  # type: ignore[arg-type]
                "ensemble_calibration": calibration_to_dict(IdentityMap()),
                "symbol_id": 1,
            }
        },
    }
    return TorchPredictor(kind, "t", {fm.pair: net}, {fm.pair: meta})


def _damaged_matrix() -> FeatureMatrix:
    c = synthetic_candles(140, seed=4, gap_at=60)  # a 3-bar gap before row 60
    fm = toy_matrix(c, f=4)
    v = fm.values.copy()
    v[30, 2] = np.nan  # one bad value poisons the L windows that contain row 30
    v[100:103, 0] = np.inf
    return FeatureMatrix(fm.pair, fm.timeframe, fm.version, fm.ts, fm.names, v)


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
@pytest.mark.parametrize("calibration", [IdentityMap(), PlattMap(1.7, -0.05)])
def test_every_bar_matches_the_live_predict_on_its_prefix(kind: str, calibration: object) -> None:
    fm = _damaged_matrix()
    pred = _predictor(kind, fm, calibration)
    batch = predictor_probs(pred, fm.pair, fm, batch=16)  # several batches, a ragged last one
    live = np.full(len(fm), np.nan)
    for t in range(len(fm)):
        prefix = FeatureMatrix(fm.pair, fm.timeframe, fm.version, fm.ts[: t + 1], fm.names, fm.values[: t + 1])
        out = pred.predict({fm.pair: prefix})
        if out:
            live[t] = out[0].prob_up
    assert np.array_equal(np.isnan(batch), np.isnan(live))
    ok = ~np.isnan(live)
    assert 60 < ok.sum() < len(fm) - 3 * L  # windows were refused for warm-up, NaN, inf and the gap
    # float32 batched matmuls may round differently from one-window ones: a few ulp at most
    np.testing.assert_allclose(batch[ok], live[ok], rtol=0, atol=1e-6)
    assert np.std(batch[ok]) > 0


def test_ready_mask_refuses_warm_up_nan_and_gaps() -> None:
    fm = _damaged_matrix()
    r = ready_mask(fm, [0, 1, 2, 3], L, 300_000)
    assert not r[: L - 1].any() and r[L - 1]
    assert not r[30 : 30 + L].any() and r[30 + L]  # every window holding row 30
    assert not r[60 : 60 + L - 1].any() and r[60 + L - 1]  # windows spanning the gap before row 60
    assert not r[100 : 103 + L - 1].any() and r[103 + L - 1]
    only_col1 = ready_mask(fm, [1], L, 300_000)
    assert only_col1[30] and only_col1[100]  # damage in other columns does not matter


def test_pair_or_feature_unknown_to_the_bundle_gives_no_predictions() -> None:
    fm = _damaged_matrix()
    pred = _predictor("lstm", fm, IdentityMap())
    assert np.isnan(predictor_probs(pred, "XRP/USDT", fm)).all()
    renamed = FeatureMatrix(fm.pair, fm.timeframe, fm.version, fm.ts, ("a", "b", "c", "d"), fm.values)
    assert np.isnan(predictor_probs(pred, fm.pair, renamed)).all()
