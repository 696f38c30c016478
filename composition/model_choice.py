"""Which model produces a backtest's probabilities, and the backtest's inputs for it.

`choose_model` reads `--model baseline|promoted|TAG` (default: the promoted bundle when one is
promoted, else the momentum baseline) against the registry; `load_pairs` loads each configured pair's
bars of the backtest period (or the bundle's recorded test block) through the one data path with the
model's probabilities for every bar; `engine_config` gives the engine the kernel settings for that
model's ensemble (`challenge_engine_config`: the same under a simulated challenge's rules).
`trading-ai backtest`, `challenge`, `tune`, `rl`, `sentiment` and bench/scale.py all take their model
and bars from here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import attrs

from composition.config import Config
from domain.errors import UserError
from domain.market import Candles, Timeframe

# The engine, the registry and the predictors load when a backtest runs, not whenever the parser is built.
if TYPE_CHECKING:
    from domain.backtest.engine import EngineConfig, PairData
    from domain.confidence import EnsembleWeights
    from domain.settings import KernelSettings

BASELINE_DESCRIPTION = "momentum (baseline, not a trained model)"


@attrs.frozen(eq=False)
class ModelChoice:
    """What produces the backtest's probabilities. `predictors` is empty for the baseline."""

    kind: str  # "baseline" | "promoted" | "tag"
    description: str
    names: tuple[str, ...]
    predictors: tuple[Any, ...] = ()
    tag: str | None = None
    gates_passed: bool | None = None
    min_bars: int = 0  # closed bars a live cycle loads for these models (warm-up + window)
    timeframe: str | None = None
    # per pair: [first training bar, first test bar): the bars the bundle was fitted/calibrated on
    seen_ms: dict[str, tuple[int, int]] = attrs.field(factory=dict)
    reason: str = ""  # why this model (printed)
    # per pair: [first, last] open time of the final fold's test samples (what the gates graded)
    test_ms: dict[str, tuple[int, int]] = attrs.field(factory=dict)

    def weights(self, settings: KernelSettings) -> EnsembleWeights:
        """The kernel's one rule (KernelSettings.weights_for): the configured weights, or equal weights
        when none of these models has one (the baseline alone)."""
        return settings.weights_for(self.names)

    def in_sample_bars(self, pairs: Sequence[PairData]) -> dict[str, int]:
        """Per pair, the period's bars inside the bundle's training/validation span (in-sample)."""
        out = {}
        for p in pairs:
            if p.pair in self.seen_ms:
                a, b = self.seen_ms[p.pair]
                out[p.pair] = int(((p.bars.ts >= a) & (p.bars.ts < b)).sum())
        return out

    def info(self, settings: KernelSettings, pairs: Sequence[PairData] = ()) -> dict[str, Any]:
        """The summary.json record: which models, which version, their verdict and weights."""
        return {
            "kind": self.kind,
            "description": self.description,
            "names": list(self.names),
            "tag": self.tag,
            "gates_passed": self.gates_passed,
            "weights": self.weights(settings).as_dict(),
            "train_to_test_start_ms": {k: list(v) for k, v in sorted(self.seen_ms.items())},
            "in_sample_bars": self.in_sample_bars(pairs),
        }


def baseline_model(reason: str) -> ModelChoice:
    """The named momentum baseline (domain.backtest.baseline.MomentumSignPredictor), with why it was chosen."""
    return ModelChoice("baseline", BASELINE_DESCRIPTION, ("momentum",), reason=reason)


def _seen_ranges(entry: dict[str, Any]) -> dict[str, tuple[int, int]]:
    out: dict[str, tuple[int, int]] = {}
    for pair, (train, test) in _split_ranges(entry).items():
        out[pair] = (train[0], test[0])
    return out


def _test_ranges(entry: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {pair: (test[0], test[1]) for pair, (_, test) in _split_ranges(entry).items()}


def _split_ranges(entry: dict[str, Any]) -> dict[str, tuple[tuple[int, int], tuple[int, int]]]:
    """Per pair: the recorded train and test sample ranges ([first, last] open times)."""
    out = {}
    for pair, d in (entry.get("data_range") or {}).items():
        if not isinstance(d, dict):
            continue
        train, test = (d.get("train") or {}).get("range"), (d.get("test") or {}).get("range")
        if train and test:
            out[pair] = ((int(train[0]), int(train[1])), (int(test[0]), int(test[1])))
    return out


def choose_model(config: Config, which: str | None) -> ModelChoice:
    """`--model`: None = the promoted bundle if any, else the baseline; 'promoted' insists on one."""
    from training.predictor import RuntimeFeatures, load_predictors, load_runtime_predictors
    from training.registry import FileModelRegistry, UnknownTag

    models_dir = config.training.models_dir
    if which == "baseline":
        return baseline_model("--model baseline")
    if which in (None, "promoted"):
        try:
            preds, features, passed, desc = load_runtime_predictors(config)
        except UnknownTag as exc:
            if which == "promoted":
                raise
            return baseline_model(f"no promoted model ({exc})")
        tag = preds[0].version
        kind, reason = "promoted", f"the promoted bundle in {models_dir}"
    else:
        preds = load_predictors(models_dir, tag=which)
        tag = which
        first = preds[0]
        features = RuntimeFeatures(first.feature_params, first.timeframe, max(p.seq_len for p in preds))
        promoted, _p, _f = FileModelRegistry(models_dir).promoted_status()
        passed = bool(FileModelRegistry(models_dir).entry(tag).get("gates_passed", False))
        state = "promoted" if promoted == tag else "not promoted"
        desc = (
            f"{'+'.join(p.name for p in preds)} {tag} ({'passed its gates' if passed else 'FAILED its gates'}, {state})"
        )
        kind, reason = "tag", f"--model {tag} from {models_dir}"
    entry = FileModelRegistry(models_dir).entry(tag)
    return ModelChoice(
        kind,
        desc,
        tuple(p.name for p in preds),
        tuple(preds),
        tag,
        passed,
        int(features.min_bars),
        preds[0].timeframe.value,
        _seen_ranges(entry),
        reason,
        _test_ranges(entry),
    )


def print_model(model: ModelChoice, pairs: Sequence[PairData] = ()) -> None:
    """The model line every backtest and simulation prints; a failed gate verdict is shouted."""
    print(f"model: {model.description} [{model.reason}]")
    if model.predictors and not model.gates_passed:
        print(
            f"WARNING: bundle {model.tag} FAILED its gates: these figures are from a model the promotion "
            "gates rejected (see `trading-ai evaluate`)"
        )
    for p in pairs:
        if model.predictors and not any(p.pair in getattr(m, "pairs", ()) for m in model.predictors):
            print(f"note: bundle {model.tag} has no model for {p.pair}: no predictions, no trades there")
            continue
        seen = model.in_sample_bars([p]).get(p.pair, 0)
        if seen:
            a, b = (dt.datetime.fromtimestamp(x / 1000, dt.UTC) for x in model.seen_ms[p.pair])
            print(
                f"note: {seen} of {len(p.bars)} {p.pair} bars lie in the bundle's training/validation span "
                f"({a:%Y-%m-%d %H:%M} to {b:%Y-%m-%d %H:%M} UTC): in-sample"
            )


def _date_ms(text: str, what: str) -> int | None:
    if not text:
        return None
    try:
        d = dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"backtest.{what}={text!r} is invalid: expected a date YYYY-MM-DD") from None
    return int(dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC).timestamp() * 1000)


def engine_config(settings: KernelSettings, model: ModelChoice | None = None) -> EngineConfig:
    """The engine's settings: the kernel settings (composition.settings) for this model's ensemble, with
    the live scan's window (trained models need their features' warm-up plus a full window)."""
    from domain.backtest.engine import EngineConfig

    model = model or baseline_model("default")
    return EngineConfig.from_settings(settings, model.names, model.min_bars)


def challenge_engine_config(config: Config, one_step: bool, model: ModelChoice | None = None) -> EngineConfig:
    """The engine settings of a challenge simulation: the kernel settings the runtime and the backtest
    get (composition.settings); one-step swaps only the challenge, its limits and buffers still
    configured."""
    from composition.settings import kernel_settings

    return engine_config(kernel_settings(config, challenge="one-step" if one_step else None), model)


def load_pairs(
    config: Config, timeframe: Timeframe, model: ModelChoice | None = None, block: str | None = None
) -> list[PairData]:
    """Each configured pair's bars of the backtest period (backtest.start/end, or with `block="test"`
    the bundle's recorded test block) and the model's probabilities for every one of them."""
    from composition.candles import cleaned_store
    from domain.backtest.baseline import MomentumSignPredictor
    from domain.backtest.engine import PairData
    from domain.trading import SymbolSpec
    from training.batch_predict import block_probs

    model = model or baseline_model("default")
    if model.timeframe is not None and model.timeframe != timeframe.value:
        raise UserError(
            f"model bundle {model.tag} was trained on {model.timeframe} candles; "
            f"backtest timeframe is {timeframe} (use --timeframe {model.timeframe})"
        )
    src = cleaned_store(config, [(s, timeframe) for s in config.data.symbols])  # the one data path
    start = _date_ms(config.backtest.start, "start")
    end = _date_ms(config.backtest.end, "end")
    if block is not None and not model.predictors:
        raise UserError(f"--block {block} needs a trained bundle (--model promoted or a tag), not the baseline")
    pred = MomentumSignPredictor()
    out = []
    for sym in config.data.symbols:
        if block is not None:
            if sym not in model.test_ms:
                raise UserError(f"bundle {model.tag} records no test block for {sym}; backtest it without --block")
            first, last = model.test_ms[sym]
            start, end = first, last + timeframe.ms  # the block's bars: [first, last]
        c: Candles = src.candles(sym, timeframe, start, end)
        if len(c) < 2:
            raise UserError(f"no {timeframe} candles of {sym} in the chosen period")
        # the same margin as the paper account, so a backtest and a dry-run size alike
        spec = SymbolSpec(sym, sym.replace("/USDT", "USD"), margin_rate=1.0 / config.broker.paper_leverage)
        if model.predictors:
            probs = block_probs(model.predictors, src.candles(sym, timeframe, None, end), int(c.ts[0]), model.min_bars)
        else:
            probs = {"momentum": pred.probs(c.close)}
        out.append(PairData(sym, c, probs, spec))
    return out


__all__ = [
    "BASELINE_DESCRIPTION",
    "ModelChoice",
    "baseline_model",
    "challenge_engine_config",
    "choose_model",
    "engine_config",
    "load_pairs",
    "print_model",
]
