"""Every bar's up-probability from a bundle's networks, in batches: the backtest's predictions.

For bar t the live cycle computes features on its look-back candles, takes the last `seq_len` rows,
standardises them, runs the network and applies the model's calibration (`TorchPredictor.predict`).
`compute_features` is causal (row t sees bars <= t only), so one pass over the whole series gives
every bar's live feature row (up to the ~1e-12 relative rounding of prefix sums over a longer
history); the windows ending at each bar are then strided views of that one matrix, scored by the
network a few thousand at a time. A bar whose window is not ready (fewer than `seq_len` rows,
a non-finite value, or a gap between consecutive bars: what `TorchPredictor.window` refuses) gets
NaN, which the backtest treats as "no prediction", as the live cycle leaves such a pair out.

The result is one array per model name, so the engine's ensemble (`domain.confidence.score_batch`)
combines them with the configured weights: the very function the live cycle runs on its newest bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt
import torch
from numpy.lib.stride_tricks import sliding_window_view

from domain.feature_matrix import FeatureMatrix
from domain.features import FeatureParams, compute_features
from domain.market import Candles
from training.predictor import TorchPredictor

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

# Windows per forward pass, measured on the 2-core CPU: the LSTM gains up to ~2k; the Transformer's
# attention slows down past ~512 (2.3 s vs 6.9 s at 2048 for 87k windows).
DEFAULT_BATCH = {"lstm": 2048, "transformer": 512}


def _trailing_all(ok: BoolArray, width: int) -> BoolArray:
    """out[t] = ok[t-width+1 .. t] all true (False while fewer than `width` values exist)."""
    n = ok.shape[0]
    out = np.zeros(n, dtype=bool)
    if width < 1 or n < width:
        return out
    bad = np.concatenate(([0], np.cumsum(~ok, dtype=np.int64)))
    out[width - 1 :] = (bad[width:] - bad[:-width]) == 0
    return out


def ready_mask(fm: FeatureMatrix, cols: Sequence[int] | npt.NDArray[np.intp], seq_len: int, bar_ms: int) -> BoolArray:
    """Bars whose `seq_len`-row window ending there is what `TorchPredictor.window` accepts: every
    value finite and the rows consecutive bars."""
    n = len(fm)
    finite = np.all(np.isfinite(fm.values[:, list(cols)]), axis=1) if n else np.zeros(0, dtype=bool)
    ready = _trailing_all(finite, seq_len)
    if seq_len > 1 and n:
        step_ok = np.concatenate(([False], np.diff(fm.ts) == bar_ms))  # step_ok[t]: bar t follows t-1
        ready &= np.concatenate((np.zeros(1, dtype=bool), _trailing_all(step_ok[1:], seq_len - 1)))
    return ready


@torch.inference_mode()
def _forward(net: torch.nn.Module, windows: npt.NDArray[np.float32], symbol_id: int, batch: int) -> FloatArray:
    """sigmoid(direction logit) of each window, float32 like the live forward, returned as float64."""
    out = np.empty(windows.shape[0], dtype=np.float64)
    for s in range(0, windows.shape[0], batch):
        x = torch.from_numpy(np.ascontiguousarray(windows[s : s + batch]))
        sym = torch.full((x.shape[0],), symbol_id, dtype=torch.long)
        out[s : s + x.shape[0]] = torch.sigmoid(net(x, sym)["direction"]).numpy().astype(np.float64)
    return out


def predictor_probs(predictor: TorchPredictor, pair: str, fm: FeatureMatrix, batch: int | None = None) -> FloatArray:
    """One probability per row of `fm` (NaN where the live predictor would give none)."""
    n = len(fm)
    out = np.full(n, np.nan)
    member = predictor.members.get(pair)
    if member is None or n == 0:
        return out
    cols = predictor.columns(fm.names)
    if cols is None:
        return out  # the matrix lacks a feature the network needs: the live window() refuses too
    L = predictor.seq_len
    idx = np.flatnonzero(ready_mask(fm, cols, L, predictor.timeframe.ms))
    if idx.shape[0] == 0:
        return out
    # Element-wise standardisation of every row, then float32: the same numbers window() builds.
    rows = member.std.apply(fm.values[:, cols]).astype(np.float32)
    windows = sliding_window_view(rows, (L, rows.shape[1]))[:, 0]  # windows[k] = rows k .. k+L-1
    net = predictor._nets[pair]  # same package: the networks the live predict() runs
    p = _forward(net, windows[idx - (L - 1)], member.symbol_id, batch or DEFAULT_BATCH.get(predictor.name, 512))
    out[idx] = member.calibration.apply_batch(p) if predictor.calibrated else p
    return out


def batch_predict(
    predictors: Sequence[TorchPredictor],
    candles: Mapping[str, Candles],
    batch: int | None = None,
) -> dict[str, dict[str, FloatArray]]:
    """`out[pair][model name]`: every bar's up-probability (NaN = no prediction), aligned with
    `candles[pair]`. Features are computed once per pair and parameter set."""
    out: dict[str, dict[str, FloatArray]] = {}
    for pair, c in candles.items():
        cache: dict[str, FeatureMatrix] = {}
        per_model: dict[str, FloatArray] = {}
        for pred in predictors:
            params: FeatureParams = pred.feature_params
            key = params.key()
            if key not in cache:
                cache[key] = compute_features(c, params)
            per_model[pred.name] = predictor_probs(pred, pair, cache[key], batch)
        out[pair] = per_model
    return out


def block_probs(
    predictors: Sequence[TorchPredictor], history: Candles, first_ms: int, min_bars: int
) -> dict[str, FloatArray]:
    """Per model, the probabilities of every bar of `history` from `first_ms` on: what the live cycle
    computes at each of those closes. The cycle at the block's first close already holds `min_bars`
    closed bars, so the features start that far before the block (and no earlier: a longer history
    would move the prefix sums by rounding). The backtest of a period and the promotion gates' grading
    of a test block both take their predictions from here."""
    i0 = int(np.searchsorted(history.ts, first_ms))
    ext = history.tail(len(history) - max(0, i0 - min_bars))
    k = len(ext) - (len(history) - i0)  # the block's first bar inside ext
    probs = batch_predict(list(predictors), {history.symbol: ext})[history.symbol]
    return {name: p[k:] for name, p in probs.items()}


__all__ = ["batch_predict", "block_probs", "predictor_probs", "ready_mask"]
