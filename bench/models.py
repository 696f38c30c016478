"""Model benchmarks on CPU: training throughput and one scan cycle's inference latency.

- training: samples/s of the default LSTM and Transformer (forward + backward + AdamW step) on
  windows of the default shape (batch 256, window 24, the real feature count);
- inference: p50/p99 latency of `TorchPredictor.predict` for one cycle of 3 symbols, fed real
  features computed from the bundled candles; baseline in the same run: the same predictor called
  once per symbol (unbatched). Target: p99 <= 5 ms per cycle.
Weights are freshly initialised (latency does not depend on their values).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.calibration import IdentityMap, calibration_to_dict
from domain.features import FeatureParams, compute_features
from domain.market import Timeframe
from domain.normalisation import Standardiser
from training.networks import LSTMDirection, TrendTransformer
from training.pipeline import default_settings
from training.predictor import TorchPredictor

PAIRS = ("BTC/USDT", "ETH/USDT", "BNB/USDT")


def _features() -> dict[str, Any]:
    from adapters.market_data.bundled import BundledCandles
    from composition.config import DEFAULT_SHARED_DATA

    src = BundledCandles(DEFAULT_SHARED_DATA / "candles" / "binance")
    return {p: compute_features(src.candles(p, Timeframe.M5).tail(3000)) for p in PAIRS}


def _train_tput(net: torch.nn.Module, seq: int, nf: int, seconds: float = 4.0) -> float:
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x, s, y = torch.randn(256, seq, nf), torch.zeros(256, dtype=torch.long), torch.rand(256).round()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(net(x, s)["direction"], y)
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
        opt.step()
        n += 256
    return n / (time.perf_counter() - t0)


def _latency(fn: Callable[[Any], object], inputs: Any, reps: int = 600) -> tuple[float, float]:
    for _ in range(20):
        fn(inputs)
    t = np.empty(reps)
    for i in range(reps):
        t0 = time.perf_counter()
        fn(inputs)
        t[i] = time.perf_counter() - t0
    return float(np.percentile(t, 50) * 1e3), float(np.percentile(t, 99) * 1e3)


def main() -> None:
    torch.set_num_threads(1)
    s = default_settings(device="cpu")
    feats = _features()
    names = next(iter(feats.values())).names
    nf, L = len(names), s.seq_len
    torch.manual_seed(0)
    lstms: dict[str, torch.nn.Module] = {p: LSTMDirection(nf, s.lstm_hidden, s.lstm_layers, s.dropout) for p in PAIRS}
    tfm = TrendTransformer(nf, len(PAIRS), L, s.tf_d_model, s.tf_heads, s.tf_layers, s.tf_ff, s.dropout)
    print(f"training throughput (CPU, 1 thread, batch 256, window {L}, {nf} features):")
    lt = _train_tput(LSTMDirection(nf, s.lstm_hidden, s.lstm_layers, s.dropout), L, nf)
    tt = _train_tput(TrendTransformer(nf, len(PAIRS), L, s.tf_d_model, s.tf_heads, s.tf_layers, s.tf_ff), L, nf)
    print(f"  lstm        {lt:10,.0f} samples/s")
    print(f"  transformer {tt:10,.0f} samples/s   (lstm/transformer ratio {lt / tt:.1f}x)")

    def meta(pair_list: tuple[str, ...]) -> dict[str, Any]:
        fm = feats[pair_list[0]]
        return {
            "seq_len": L,
            "horizon_bars": 3,
            "timeframe": "5m",
            "feature_names": list(names),
            "feature_params": FeatureParams().to_dict(),
            "pairs": {
                p: {
                    "standardiser": Standardiser.fit(fm.values).to_dict(),
                    "calibration": calibration_to_dict(IdentityMap()),
                    "ensemble_calibration": calibration_to_dict(IdentityMap()),
                    "symbol_id": i,
                }
                for i, p in enumerate(PAIRS)
            },
        }

    lstm_pred = TorchPredictor("lstm", "bench", lstms, {p: meta((p,)) for p in PAIRS})
    tf_pred = TorchPredictor("transformer", "bench", {p: tfm for p in PAIRS}, {p: meta((p,)) for p in PAIRS})
    assert len(tf_pred.predict(feats)) == 3, "the bench needs all 3 pairs scorable"
    print("inference, one cycle of 3 symbols (ms):        p50     p99")
    for name, pred in (("lstm", lstm_pred), ("transformer", tf_pred)):
        b50, b99 = _latency(pred.predict_unbatched, feats)
        p50, p99 = _latency(pred.predict, feats)
        print(f"  {name:12s} per-symbol (baseline)      {b50:6.2f}  {b99:6.2f}")
        print(
            f"  {name:12s} batched cycle              {p50:6.2f}  {p99:6.2f}   "
            f"speed-up p50 {b50 / p50:.2f}x; p99 target <= 5 ms: {'met' if p99 <= 5 else 'MISSED'}"
        )
    both = lambda x: (lstm_pred.predict(x), tf_pred.predict(x))  # noqa: E731
    c50, c99 = _latency(both, feats)
    print(
        f"  both models, one cycle                  {c50:6.2f}  {c99:6.2f}   "
        f"p99 target <= 5 ms: {'met' if c99 <= 5 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
