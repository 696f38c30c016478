"""The runtime Predictor (implements `ports.predictor.Predictor`): loads a registry bundle's networks
and scores the pairs of one scan cycle on CPU under `torch.inference_mode`.

Inputs per pair are `FeatureMatrix` rows from `domain.features.compute_features` (the same code
the model was trained on). The last `seq_len` rows must be consecutive bars with finite values;
a pair without that is left out, not guessed. The Transformer scores all pairs of a cycle in one
batch; LSTMs are one network per coin, so each runs once on its own window.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from domain.calibration import CalibrationMap, calibration_from_dict
from domain.feature_matrix import FeatureMatrix
from domain.features import FeatureParams
from domain.market import Timeframe
from domain.normalisation import Standardiser
from domain.signals import Prediction
from training.networks import build_network
from training.registry import FileModelRegistry, UnknownTag, load_model_file


class _Member:
    """One pair's share of a network: its standardiser, calibration map and symbol id."""

    def __init__(self, d: Mapping[str, Any]) -> None:
        self.std = Standardiser.from_dict(d["standardiser"])
        self.calibration: CalibrationMap = calibration_from_dict(d["calibration"])
        self.ensemble_calibration: CalibrationMap = calibration_from_dict(d["ensemble_calibration"])
        self.symbol_id = int(d["symbol_id"])
        self.symbol = torch.tensor([self.symbol_id], dtype=torch.long)  # the (1,) ids of a one-pair batch
        self.reference = np.asarray(d.get("reference_sample", []), dtype=np.float64)


class TorchPredictor:
    def __init__(
        self,
        name: str,
        version: str,
        nets: dict[str, torch.nn.Module],
        meta: dict[str, dict[str, Any]],
        calibrated: bool = True,
    ) -> None:
        self._name, self._version = name, version
        self._nets = nets  # pair -> net (the same Transformer object for every pair)
        any_meta = next(iter(meta.values()))
        self.seq_len = int(any_meta["seq_len"])
        self.horizon_bars = int(any_meta["horizon_bars"])
        self.timeframe = Timeframe.parse(any_meta["timeframe"])
        self.feature_names: tuple[str, ...] = tuple(any_meta["feature_names"])
        self.feature_params = FeatureParams.from_dict(any_meta["feature_params"])
        self.members = {pair: _Member(m["pairs"][pair]) for pair, m in meta.items()}
        self.calibrated = calibrated
        self._columns: dict[tuple[str, ...], npt.NDArray[np.intp] | None] = {}  # matrix names -> our feature columns
        self._last: tuple[list[tuple[str, np.ndarray]], list[float]] | None = None  # the last forward pass
        for net in {id(n): n for n in nets.values()}.values():
            net.eval()

    @property
    def name(self) -> str:
        return self._name

    @property
    def version(self) -> str:
        return self._version

    @property
    def pairs(self) -> tuple[str, ...]:
        return tuple(self.members)

    @property
    def feature_rows(self) -> int:
        """The newest feature rows `predict` reads (its window): the scan cycle computes no more."""
        return self.seq_len

    def window(self, pair: str, fm: FeatureMatrix) -> np.ndarray | None:
        """The standardised (L, F) window ending at the matrix's last row, or None if unusable."""
        L = self.seq_len
        member = self.members.get(pair)
        if len(fm) < L or member is None:
            return None
        cols = self.columns(fm.names)
        if cols is None:
            return None
        rows = fm.values[-L:][:, cols]
        if not np.isfinite(rows).all() or not (np.diff(fm.ts[-L:]) == self.timeframe.ms).all():
            return None
        return member.std.apply(rows).astype(np.float32)

    def columns(self, names: tuple[str, ...]) -> npt.NDArray[np.intp] | None:
        """Where this model's features sit among a matrix's `names` (None if one is missing); looked
        up once per names tuple (every cycle's matrices carry the same one)."""
        if names not in self._columns:
            try:
                self._columns[names] = np.array([names.index(n) for n in self.feature_names], dtype=np.intp)
            except ValueError:
                self._columns[names] = None
        return self._columns[names]

    def predict(self, inputs: Mapping[str, Any]) -> list[Prediction]:
        ready: list[tuple[str, np.ndarray]] = []
        for pair, fm in inputs.items():
            if isinstance(fm, FeatureMatrix):
                w = self.window(pair, fm)
                if w is not None:
                    ready.append((pair, w))
        if not ready:
            return []
        probs = self._probs(ready)
        out = []
        for (pair, _), p in zip(ready, probs, strict=True):
            q = self.members[pair].calibration.apply(float(p)) if self.calibrated else float(p)
            out.append(Prediction(pair, q, self._name, self._version))
        return out

    def _probs(self, ready: list[tuple[str, np.ndarray]]) -> list[float]:
        """The forward pass's probabilities; the last call's when the same pairs bring the same windows
        (the networks are deterministic on CPU in eval mode, and the batch is the same one, so the
        numbers are too: a cycle between two bar closes)."""
        last = self._last
        if (
            last is not None
            and len(last[0]) == len(ready)
            and all(p == q and np.array_equal(w, v) for (p, w), (q, v) in zip(last[0], ready, strict=True))
        ):
            return last[1]
        probs = self._forward(ready)
        self._last = (ready, probs)
        return probs

    @torch.inference_mode()
    def _forward(self, ready: list[tuple[str, np.ndarray]]) -> list[float]:
        nets = [self._nets[p] for p, _ in ready]
        if all(n is nets[0] for n in nets):  # one shared network (Transformer): one batch for the cycle
            x = torch.from_numpy(np.stack([w for _, w in ready]))
            sym = torch.tensor([self.members[p].symbol_id for p, _ in ready], dtype=torch.long)
            return torch.sigmoid(nets[0](x, sym)["direction"]).tolist()
        res = []
        for (pair, w), net in zip(ready, nets, strict=True):
            sym = self.members[pair].symbol
            res.append(float(torch.sigmoid(net(torch.from_numpy(w[None]), sym)["direction"])[0]))
        return res

    def predict_unbatched(self, inputs: Mapping[str, Any]) -> list[Prediction]:
        """Same results one pair at a time (the benchmark's baseline)."""
        out: list[Prediction] = []
        for pair, fm in inputs.items():
            out.extend(self.predict({pair: fm}))
        return out


def load_predictors(models_dir: str | Path, tag: str | None = None, calibrated: bool = True) -> list[TorchPredictor]:
    """The LSTM and Transformer predictors of `tag`, or of the promoted bundle when tag is None."""
    reg = FileModelRegistry(models_dir)
    reg.load()  # a damaged registry.json is refused (CorruptFile naming it) even when nothing is promoted
    if tag is None:
        tag_file = Path(models_dir) / "promoted" / "TAG"
        if not tag_file.is_file():
            raise UnknownTag(f"no promoted model in {models_dir}; train one and run `trading-ai models promote TAG`")
        tag = tag_file.read_text(encoding="utf-8").strip()
        files = {
            role: Path(models_dir) / "promoted" / f"{role.replace(':', '_').replace('/', '_').lower()}.pt"
            for role in reg.entry(tag)["files"]
        }
    else:
        files = {role: Path(models_dir) / f["file"] for role, f in reg.entry(tag)["files"].items()}
    digests = {role: f.get("sha256") for role, f in reg.entry(tag)["files"].items()}
    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    roles: dict[str, tuple[torch.nn.Module, dict[str, Any]]] = {}
    for role, path in sorted(files.items()):
        state, meta = load_model_file(path.resolve(), digests.get(role))  # refused unless its sha256 matches
        net = build_network(meta["kind"], meta["hparams"])
        net.load_state_dict(state)
        roles[role] = (net, meta)
    return predictors_from(roles, tag, calibrated)


def predictors_from(
    roles: Mapping[str, tuple[torch.nn.Module, Mapping[str, Any]]], tag: str, calibrated: bool = True
) -> list[TorchPredictor]:
    """The LSTM predictor (one network per coin) and the Transformer predictor of a bundle's roles
    (training.bundle_roles), loaded from the registry or still in memory after training."""
    lstm_nets: dict[str, torch.nn.Module] = {}
    lstm_meta: dict[str, dict[str, Any]] = {}
    out: list[TorchPredictor] = []
    for _role, (net, meta) in sorted(roles.items()):
        if meta["kind"] == "lstm":
            pair = next(iter(meta["pairs"]))
            lstm_nets[pair], lstm_meta[pair] = net, dict(meta)
        else:
            pairs = list(meta["pairs"])
            out.append(
                TorchPredictor("transformer", tag, {p: net for p in pairs}, {p: dict(meta) for p in pairs}, calibrated)
            )
    if lstm_nets:
        out.insert(0, TorchPredictor("lstm", tag, lstm_nets, lstm_meta, calibrated))
    return out


class RuntimeFeatures:
    """The scan cycle's features function for these models: the training feature code on the
    cycle's candles. `min_bars` is how many closed bars a cycle must load so that every feature is
    past its warm-up and a full `seq_len` window exists."""

    def __init__(self, params: FeatureParams, timeframe: Timeframe, seq_len: int) -> None:
        from domain.features import warmup_bars

        self.params = params
        self.timeframe = timeframe
        self.min_bars = warmup_bars(params, timeframe) + seq_len + 1

    def __call__(self, candles: Any) -> FeatureMatrix:
        from domain.features import compute_features

        return compute_features(candles, self.params)

    def newest(self, candles: Any, rows: int) -> FeatureMatrix:
        """The newest `rows` rows of `self(candles)`, the same values (compute_features' `last`)."""
        from domain.features import compute_features

        return compute_features(candles, self.params, last=rows)


def load_runtime_predictors(config: Any) -> tuple[list[TorchPredictor], RuntimeFeatures, bool, str]:
    """What the runtime loads: the promoted bundle's predictors, their features function, whether the
    bundle passed its gates, and a one-line description. Raises `UnknownTag` (a UserError) when no
    bundle is promoted, so the caller can fall back to the named baseline."""
    models_dir = config.training.models_dir
    predictors = load_predictors(models_dir)
    tag, passed, forced = FileModelRegistry(models_dir).promoted_status()
    first = predictors[0]
    features = RuntimeFeatures(first.feature_params, first.timeframe, max(p.seq_len for p in predictors))
    verdict = (
        "passed its gates" if passed else ("FAILED its gates, promoted with --force" if forced else "FAILED its gates")
    )
    names = "+".join(p.name for p in predictors)
    return predictors, features, passed, f"{names} {tag} ({verdict})"
