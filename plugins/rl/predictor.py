"""The RL agent as an ensemble member (implements `ports.predictor.Predictor`, name "rl").

Per pair it takes the cycle's FeatureMatrix (from `domain.features.compute_features`, the same
code as training), the last `window` rows of the run's feature columns, standardised with the
pair's training-split standardiser, and reads the selected seed's policy as a flat agent would:
p_up = 0.5 + 0.5 (pi(long) - pi(short)). A pair without a full window of consecutive finite rows is
left out, as the supervised predictors do.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from domain.feature_matrix import FeatureMatrix
from domain.features import FeatureParams
from domain.market import Timeframe
from domain.normalisation import Standardiser
from domain.signals import Prediction
from plugins.rl.agent import action_probs, build_policy
from plugins.rl.env import LONG, POSITION_FEATURES, SHORT
from plugins.rl.store import AgentStore


class RLPredictor:
    def __init__(
        self,
        version: str,
        policy: Any,
        window: int,
        names: tuple[str, ...],
        standardisers: dict[str, Standardiser],
        feature_params: FeatureParams,
        timeframe: Timeframe,
    ) -> None:
        self._version = version
        self.policy = policy
        self.window = window
        self.feature_names = names
        self.standardisers = standardisers
        self.feature_params = feature_params
        self.timeframe = timeframe
        self.gates_passed = False  # set from the run's gate verdict by the plugin hook

    @property
    def name(self) -> str:
        return "rl"

    @property
    def version(self) -> str:
        return self._version

    @property
    def pairs(self) -> tuple[str, ...]:
        return tuple(self.standardisers)

    def _obs(self, pair: str, fm: FeatureMatrix) -> np.ndarray | None:
        w = self.window
        if pair not in self.standardisers or len(fm) < w:
            return None
        try:
            cols = [fm.names.index(n) for n in self.feature_names]
        except ValueError:
            return None
        rows = fm.values[-w:][:, cols]
        if not np.all(np.isfinite(rows)) or not np.all(np.diff(fm.ts[-w:]) == self.timeframe.ms):
            return None
        z = self.standardisers[pair].apply(rows).astype(np.float32).reshape(-1)
        return np.concatenate([z, np.zeros(len(POSITION_FEATURES), dtype=np.float32)])

    def predict(self, inputs: Mapping[str, Any]) -> list[Prediction]:
        ready = [
            (p, o)
            for p, fm in inputs.items()
            if isinstance(fm, FeatureMatrix)
            for o in [self._obs(p, fm)]
            if o is not None
        ]
        if not ready:
            return []
        probs = action_probs(self.policy, np.stack([o for _, o in ready]))
        return [
            Prediction(p, float(0.5 + 0.5 * (q[LONG] - q[SHORT])), self.name, self.version)
            for (p, _), q in zip(ready, probs, strict=True)
        ]


def load_predictor(models_dir: str | Path, run_id: str | None = None, seed_index: int | None = None) -> RLPredictor:
    """The selected seed's agent of `run_id` (default: the current run)."""
    store = AgentStore(models_dir)
    entry = store.run(run_id)
    idx = entry["selected_seed_index"] if seed_index is None else seed_index
    seed = entry["seeds"][idx]
    state, meta = store.read_policy(seed["file"])
    policy = build_policy(int(meta["obs_dim"]), tuple(meta["net_arch"]))
    policy.load_state_dict(state)
    policy.set_training_mode(False)
    stds = {p: Standardiser.from_dict(d) for p, d in entry["standardisers"].items()}
    return RLPredictor(
        entry["run_id"],
        policy,
        int(entry["window"]),
        tuple(entry["feature_names"]),
        stds,
        FeatureParams.from_dict(entry["feature_params"]),
        Timeframe.parse(entry["timeframe"]),
    )
