"""Confidence: ensemble -> calibration -> direction -> pattern adjustment -> boosters -> bias.

Every step has a scalar form (one scan) and an array form (a backtest over many bars) that give
identical numbers; tests/unit/domain/test_confidence.py proves it.

Units: probabilities in [0, 1]; adjustments, boosters and the bias are in probability points
(0.05 = 5 percentage points).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from domain.calibration import CalibrationMap, IdentityMap
from domain.errors import ConfigError
from domain.market import DEFAULT_SESSION_HOURS, Session, SessionHours, VolRegime, session_masks
from domain.risk_book import PatternStat
from domain.signals import Direction

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _weights(value: Mapping[str, float] | Sequence[tuple[str, float]]) -> tuple[tuple[str, float], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    out = tuple(sorted((str(k), float(v)) for k, v in items))
    if not out or any(w < 0 or math.isnan(w) for _, w in out) or sum(w for _, w in out) <= 0:
        raise ConfigError(f"ensemble weights must be non-negative with a positive sum, got {dict(out)}")
    return out


@attrs.frozen
class EnsembleWeights:
    """Model name -> weight. Only the models present in a scan count; their weights are renormalised."""

    weights: tuple[tuple[str, float], ...] = attrs.field(converter=_weights)

    @classmethod
    def parse(cls, text: str, enabled_plugins: Collection[str] = ()) -> EnsembleWeights:
        """Parse ENSEMBLE_WEIGHTS, e.g. "lstm=0.3,transformer=0.35,rl=0.25,sentiment=0.1"; "auto" (or
        empty) is the plan's weights by the enabled plugins (`plan_weights`)."""
        if text.strip().lower() in ("", AUTO_WEIGHTS):
            return plan_weights(enabled_plugins)
        pairs: list[tuple[str, float]] = []
        for part in text.split(","):
            name, sep, w = part.partition("=")
            try:
                if not sep or not name.strip():
                    raise ValueError
                pairs.append((name.strip().lower(), float(w)))
            except ValueError:
                raise ConfigError(
                    f"ENSEMBLE_WEIGHTS={text!r}: expected comma-separated name=weight, e.g. lstm=0.5,transformer=0.5"
                ) from None
        return cls(pairs)

    def as_dict(self) -> dict[str, float]:
        return dict(self.weights)

    def renormalised(self, present: Sequence[str]) -> dict[str, float]:
        """Weights of the present models scaled to sum to 1 ({} if none has weight)."""
        w = {k: v for k, v in self.weights if k in set(present)}
        total = sum(w.values())
        return {k: v / total for k, v in w.items()} if total > 0 else {}


WITH_RL = EnsembleWeights({"lstm": 0.30, "transformer": 0.35, "rl": 0.25, "sentiment": 0.10})
WITHOUT_RL = EnsembleWeights({"lstm": 0.5, "transformer": 0.5})
SENTIMENT_ONLY = EnsembleWeights({"lstm": 0.30, "transformer": 0.35, "sentiment": 0.35})
AUTO_WEIGHTS = "auto"


def plan_weights(enabled_plugins: Collection[str]) -> EnsembleWeights:
    """The plan's ensemble weights by what is enabled: 50/50 LSTM/Transformer; with the sentiment
    plugin 30/35/35; with the RL plugin 30/35/25/10 (sentiment's 10 renormalised away if it is off).
    Keys are the plugins' entry-point names ("sentiment", "rl")."""
    on = {p.strip().lower() for p in enabled_plugins}
    if "rl" in on:
        return WITH_RL if "sentiment" in on else EnsembleWeights({k: v for k, v in WITH_RL.weights if k != "sentiment"})
    if "sentiment" in on:
        return SENTIMENT_ONLY
    return WITHOUT_RL


def ensemble_prob(probs: Mapping[str, float], weights: EnsembleWeights) -> float | None:
    """Weighted mean of the present models' up-probabilities; None if no weighted model is present."""
    w = weights.renormalised([k for k, v in probs.items() if not math.isnan(v)])
    if not w:
        return None
    return sum(w[k] * probs[k] for k in sorted(w))


def ensemble_prob_batch(probs: Mapping[str, FloatArray], weights: EnsembleWeights) -> FloatArray:
    """Row-wise ensemble; NaN marks a model missing on that row; rows with no model give NaN."""
    names = [k for k, _ in weights.weights if k in probs]
    if not names:
        n = len(next(iter(probs.values()))) if probs else 0
        return np.full(n, np.nan)
    wd = weights.as_dict()
    p = np.stack([np.asarray(probs[k], dtype=np.float64) for k in names])
    w = np.array([wd[k] for k in names])[:, None] * ~np.isnan(p)
    total = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        wn = w / total
    # Sum in name order, like the scalar form, so both round identically.
    acc = np.zeros(p.shape[1])
    for i in range(len(names)):
        acc = acc + np.where(w[i] > 0, wn[i] * np.nan_to_num(p[i]), 0.0)
    return np.where(total > 0, acc, np.nan)


# ---------------------------------------------------------------- pattern adjustment


@attrs.frozen
class PatternAdjustConfig:
    """adjust = clip(weight x (win_rate - baseline), +-max_abs) x min(1, total / sample_floor)."""

    sample_floor: int = 30
    weight: float = 0.5
    max_abs: float = 0.05
    baseline: float = 0.5


def pattern_adjustment(wins: int, total: int, cfg: PatternAdjustConfig) -> float:
    if total <= 0:
        return 0.0
    raw = cfg.weight * (wins / total - cfg.baseline)
    bounded = min(cfg.max_abs, max(-cfg.max_abs, raw))
    return bounded * min(1.0, total / cfg.sample_floor)


def pattern_adjustment_batch(wins: IntArray, total: IntArray, cfg: PatternAdjustConfig) -> FloatArray:
    t = np.asarray(total, dtype=np.float64)
    safe = np.where(t > 0, t, 1.0)
    raw = cfg.weight * (np.asarray(wins, dtype=np.float64) / safe - cfg.baseline)
    bounded = np.minimum(cfg.max_abs, np.maximum(-cfg.max_abs, raw))
    return np.where(t > 0, bounded * np.minimum(1.0, t / cfg.sample_floor), 0.0)


# ---------------------------------------------------------------- free boosters


def _regimes(value: Mapping[VolRegime, float] | Sequence[tuple[VolRegime, float]]) -> tuple[tuple[str, float], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((VolRegime(k).value, float(v)) for k, v in items))


def _sessions(value: Mapping[Session, float] | Sequence[tuple[Session, float]]) -> tuple[tuple[str, float], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((Session(k).value, float(v)) for k, v in items))


@attrs.frozen
class BoosterConfig:
    """Each booster is bounded by its cap and their sum by `total_cap` (all in probability points)."""

    mtf_per_timeframe: float = 0.01
    mtf_cap: float = 0.03
    session_bonus: tuple[tuple[str, float], ...] = attrs.field(
        default=((Session.LONDON, 0.01), (Session.NEW_YORK, 0.01), (Session.TOKYO, 0.0)), converter=_sessions
    )
    overlap_bonus: float = 0.02  # London + New York both open
    session_cap: float = 0.02
    regime_bonus: tuple[tuple[str, float], ...] = attrs.field(
        default=((VolRegime.LOW, -0.01), (VolRegime.MEDIUM, 0.0), (VolRegime.HIGH, -0.02)), converter=_regimes
    )
    regime_cap: float = 0.03
    total_cap: float = 0.05
    hours: SessionHours = DEFAULT_SESSION_HOURS


def _clip(x: float, cap: float) -> float:
    return min(cap, max(-cap, x))


def mtf_booster(direction_sign: int, higher_tf_signs: Sequence[int], cfg: BoosterConfig) -> float:
    """Bonus for higher timeframes agreeing with the signal's direction, malus for opposing ones."""
    net = sum(1 if s * direction_sign > 0 else -1 if s * direction_sign < 0 else 0 for s in higher_tf_signs)
    return _clip(cfg.mtf_per_timeframe * net, cfg.mtf_cap)


def session_booster(ts_ms: int, cfg: BoosterConfig) -> float:
    return float(session_booster_batch(np.array([ts_ms], dtype=np.int64), cfg)[0])


def session_booster_batch(ts_ms: IntArray, cfg: BoosterConfig) -> FloatArray:
    masks = session_masks(ts_ms, cfg.hours)
    bonus = dict(cfg.session_bonus)
    out = np.zeros(np.asarray(ts_ms).shape[0])
    for s in Session:
        out = np.where(masks[s], np.maximum(out, bonus.get(s.value, 0.0)), out)
    out = np.where(masks[Session.LONDON] & masks[Session.NEW_YORK], cfg.overlap_bonus, out)
    return np.clip(out, -cfg.session_cap, cfg.session_cap)


def regime_booster(regime: VolRegime, cfg: BoosterConfig) -> float:
    return _clip(dict(cfg.regime_bonus).get(regime.value, 0.0), cfg.regime_cap)


_REGIME_ORDER = (VolRegime.LOW, VolRegime.MEDIUM, VolRegime.HIGH)


def regime_code(regime: VolRegime) -> int:
    """0 = low, 1 = medium, 2 = high (the batch form's encoding)."""
    return _REGIME_ORDER.index(regime)


def regime_booster_batch(codes: IntArray, cfg: BoosterConfig) -> FloatArray:
    table = np.array([regime_booster(r, cfg) for r in _REGIME_ORDER])
    return table[np.asarray(codes, dtype=np.int64)]


# ---------------------------------------------------------------- the whole pipeline


@attrs.frozen
class ConfidenceParams:
    weights: EnsembleWeights = WITHOUT_RL
    calibration: CalibrationMap = attrs.field(factory=IdentityMap)
    bias: float = 0.05
    pattern: PatternAdjustConfig = attrs.field(factory=PatternAdjustConfig)
    boosters: BoosterConfig = attrs.field(factory=BoosterConfig)


@attrs.frozen
class BoosterInputs:
    """What the boosters look at for one scan (each optional: absent means no booster)."""

    ts_ms: int | None = None
    higher_tf_signs: tuple[int, ...] = ()
    regime: VolRegime | None = None
    pattern: PatternStat | None = None


@attrs.frozen
class ConfidenceResult:
    prob_up: float  # calibrated ensemble probability of an up move
    direction: Direction
    confidence: float  # final probability that `direction` is right, after all adjustments
    reasons: tuple[str, ...]


def score(
    probs: Mapping[str, float], params: ConfidenceParams, inputs: BoosterInputs = BoosterInputs()
) -> ConfidenceResult | None:
    """One pair's confidence for one scan; None when no weighted model produced a probability."""
    p = ensemble_prob(probs, params.weights)
    if p is None:
        return None
    reasons = [f"ensemble:{p:.4f}[{','.join(sorted(k for k in probs if not math.isnan(probs[k])))}]"]
    pc = params.calibration.apply(p)
    if params.calibration.kind != "identity":
        reasons.append(f"calibration:{params.calibration.kind}:{pc:.4f}")
    direction = Direction.from_prob_up(pc)
    conf = pc if direction is Direction.LONG else 1.0 - pc
    if inputs.pattern is not None:
        adj = pattern_adjustment(inputs.pattern.wins, inputs.pattern.total, params.pattern)
        conf += adj
        reasons.append(f"pattern:{inputs.pattern.name}:{adj:+.4f}({inputs.pattern.wins}/{inputs.pattern.total})")
    boost = 0.0
    if inputs.higher_tf_signs:
        b = mtf_booster(direction.sign, inputs.higher_tf_signs, params.boosters)
        boost += b
        reasons.append(f"booster:mtf:{b:+.4f}")
    if inputs.ts_ms is not None:
        b = session_booster(inputs.ts_ms, params.boosters)
        boost += b
        reasons.append(f"booster:session:{b:+.4f}")
    if inputs.regime is not None:
        b = regime_booster(inputs.regime, params.boosters)
        boost += b
        reasons.append(f"booster:regime:{inputs.regime.value}:{b:+.4f}")
    conf += _clip(boost, params.boosters.total_cap)
    conf -= params.bias
    reasons.append(f"bias:{-params.bias:+.4f}")
    return ConfidenceResult(pc, direction, min(1.0, max(0.0, conf)), tuple(reasons))


@attrs.frozen(eq=False)
class ConfidenceBatch:
    prob_up: FloatArray
    direction_sign: IntArray  # +1 long, -1 short, 0 where no model was present
    confidence: FloatArray  # NaN where no model was present


def score_batch(
    probs: Mapping[str, FloatArray],
    params: ConfidenceParams,
    *,
    ts_ms: IntArray | None = None,
    higher_tf_signs: IntArray | None = None,  # shape (n, k): k higher timeframes' directions
    regime_codes: IntArray | None = None,
    pattern_wins: IntArray | None = None,
    pattern_total: IntArray | None = None,
) -> ConfidenceBatch:
    """The array form of `score` over n rows; identical numbers row by row."""
    p = ensemble_prob_batch(probs, params.weights)
    missing = np.isnan(p)
    pc = params.calibration.apply_batch(np.where(missing, 0.5, p))
    sign = np.where(pc >= 0.5, 1, -1).astype(np.int64)
    conf = np.where(sign > 0, pc, 1.0 - pc)
    if pattern_wins is not None and pattern_total is not None:
        conf = conf + pattern_adjustment_batch(pattern_wins, pattern_total, params.pattern)
    boost = np.zeros_like(conf)
    cfg = params.boosters
    if higher_tf_signs is not None and np.asarray(higher_tf_signs).size:
        hs = np.asarray(higher_tf_signs, dtype=np.int64).reshape(conf.shape[0], -1)
        net = np.sign(hs * sign[:, None]).sum(axis=1)
        boost = boost + np.clip(cfg.mtf_per_timeframe * net, -cfg.mtf_cap, cfg.mtf_cap)
    if ts_ms is not None:
        boost = boost + session_booster_batch(ts_ms, cfg)
    if regime_codes is not None:
        boost = boost + regime_booster_batch(regime_codes, cfg)
    conf = conf + np.clip(boost, -cfg.total_cap, cfg.total_cap)
    conf = np.clip(conf - params.bias, 0.0, 1.0)
    return ConfidenceBatch(
        prob_up=np.where(missing, np.nan, pc),
        direction_sign=np.where(missing, 0, sign).astype(np.int64),
        confidence=np.where(missing, np.nan, conf),
    )
