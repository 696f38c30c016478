"""A bundle's networks and their metadata by role ("lstm:BTC/USDT", "transformer"): what the registry
serialises (training.bundle) and what the promotion gates score in memory (training.pipeline), so a
gate grades the very predictors the backtest and the runtime load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from domain.calibration import CalibrationMap, calibration_to_dict
from domain.features import FeatureParams
from domain.normalisation import Standardiser
from domain.signals import TierThresholds
from training.networks import LSTMDirection, TrendTransformer

Roles = dict[str, tuple[LSTMDirection | TrendTransformer, dict[str, Any]]]


def common_meta(
    seq_len: int,
    horizon_bars: int,
    timeframe: str,
    feature_names: tuple[str, ...],
    feature_params: FeatureParams,
    thresholds: TierThresholds,
) -> dict[str, Any]:
    """What every network of a bundle records about its inputs (no run id: same weights, same file)."""
    return {
        "seq_len": seq_len,
        "horizon_bars": horizon_bars,
        "timeframe": timeframe,
        "feature_names": list(feature_names),
        "feature_params": feature_params.to_dict(),
        "thresholds": attrs.asdict(thresholds),
    }


def bundle_roles(
    lstm: Mapping[str, LSTMDirection],
    transformer: TrendTransformer,
    standardisers: Mapping[str, Standardiser],
    calibration: Mapping[str, Mapping[str, CalibrationMap]],  # model -> pair -> map
    symbol_ids: Mapping[str, int],
    reference_sample: Mapping[str, list[list[float]]],
    common: Mapping[str, Any],  # seq_len, horizon_bars, timeframe, feature_names, feature_params, thresholds
) -> Roles:
    def member(model: str, pair: str) -> dict[str, Any]:
        return {
            "standardiser": standardisers[pair].to_dict(),
            "calibration": calibration_to_dict(calibration[model][pair]),
            "ensemble_calibration": calibration_to_dict(calibration["ensemble"][pair]),
            "symbol_id": symbol_ids[pair],
            "reference_sample": reference_sample[pair],
        }

    out: Roles = {}
    for pair, net in lstm.items():
        meta = {**common, "kind": "lstm", "hparams": net.hparams, "pairs": {pair: member("lstm", pair)}}
        out[f"lstm:{pair}"] = (net, meta)
    pairs = {p: member("transformer", p) for p in lstm}
    out["transformer"] = (
        transformer,
        {**common, "kind": "transformer", "hparams": transformer.hparams, "pairs": pairs},
    )
    return out
