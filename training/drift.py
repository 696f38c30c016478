"""`models check-drift`: the plan's retraining triggers on the most recent bars, and which fired.

- accuracy: the promoted ensemble's daily accuracy below `min_daily_accuracy` (0.65) on each of the
  last `days` (3) complete days;
- calibration: expected calibration error of the calibrated ensemble above `max_ece` (7%) over the
  recent window;
- features: two-sample Kolmogorov-Smirnov test of each feature, recent bars vs. the training
  reference sample stored with the model; fires when any feature has p < `ks_alpha` and D >= `ks_min_d`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from domain import evaluation as ev
from domain.features import compute_features
from domain.market import MS_PER_DAY, Candles
from training.datasets import build_series, window_set
from training.loop import predict
from training.predictor import TorchPredictor, load_predictors


@attrs.frozen
class DriftConfig:
    days: int = 3
    min_daily_accuracy: float = 0.65
    max_ece: float = 0.07
    ks_alpha: float = 0.01
    ks_min_d: float = 0.1
    window_days: int = 7


@attrs.frozen
class Trigger:
    name: str
    fired: bool
    detail: str


def _probs(pred: TorchPredictor, pair: str, x: np.ndarray, series: Any, ends: np.ndarray) -> np.ndarray:
    ws = window_set([(x, series, ends, pred.members[pair].symbol_id)], pred.seq_len)
    return predict(pred._nets[pair], ws)["prob_up"]


def check_drift(
    models_dir: str | Path, candles: Mapping[str, Candles], cfg: DriftConfig = DriftConfig(), tag: str | None = None
) -> dict[str, list[Trigger]]:
    preds = {p.name: p for p in load_predictors(models_dir, tag, calibrated=False)}
    lstm, tfm = preds["lstm"], preds["transformer"]
    meta_params = lstm.feature_params
    out: dict[str, list[Trigger]] = {}
    for pair, c in candles.items():
        if pair not in lstm.members:
            out[pair] = [Trigger("model", True, f"the promoted model has no network for {pair}")]
            continue
        end_ms = int(c.ts[-1])
        warm = c.between(end_ms - (cfg.window_days + 10) * MS_PER_DAY, None)
        fm = compute_features(warm, meta_params)
        series = build_series(warm, fm, lstm.seq_len, lstm.horizon_bars)
        recent = np.flatnonzero(series.sample_ok & (series.ts >= end_ms - cfg.window_days * MS_PER_DAY))
        if recent.size == 0:
            out[pair] = [Trigger("data", True, "no usable recent samples")]
            continue
        cols = [fm.names.index(n) for n in lstm.feature_names]
        raw = fm.values[:, cols]
        member = lstm.members[pair]
        x = np.nan_to_num(member.std.apply(raw), nan=0.0).astype(np.float32)
        p_raw = (_probs(lstm, pair, x, series, recent) + _probs(tfm, pair, x, series, recent)) / 2
        p = member.ensemble_calibration.apply_batch(p_raw)
        y = series.direction[recent]
        days = series.ts[recent] // MS_PER_DAY
        last_day = int(end_ms // MS_PER_DAY)
        complete = [d for d in np.unique(days).tolist() if d < last_day][-cfg.days :]
        daily = [(d, ev.accuracy(y[days == d], p[days == d])) for d in complete]
        fired = len(daily) == cfg.days and all(a < cfg.min_daily_accuracy for _, a in daily)
        acc_txt = ", ".join(f"{a:.1%}" for _, a in daily)
        triggers = [
            Trigger(
                "accuracy",
                fired,
                f"daily accuracy of the last {len(daily)} days: {acc_txt} "
                f"(fires when all < {cfg.min_daily_accuracy:.0%})",
            )
        ]
        ece = ev.expected_calibration_error(y, p)
        triggers.append(
            Trigger(
                "calibration",
                ece > cfg.max_ece,
                f"ECE {ece:.1%} over {recent.size} recent samples (limit {cfg.max_ece:.0%})",
            )
        )
        drifted = []
        ref = member.reference
        if ref.size:
            rec_rows = raw[recent]
            for j, name in enumerate(lstm.feature_names):
                d, pv = ev.ks_two_sample(ref[:, j], rec_rows[:, j])
                if not np.isnan(d) and pv < cfg.ks_alpha and d >= cfg.ks_min_d:
                    drifted.append(f"{name} (D={d:.2f})")
        triggers.append(
            Trigger(
                "feature_drift",
                bool(drifted),
                f"{len(drifted)} of {len(lstm.feature_names)} features drifted"
                + (f": {', '.join(drifted[:8])}" if drifted else ""),
            )
        )
        out[pair] = triggers
    return out
