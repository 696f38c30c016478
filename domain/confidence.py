"""Confidence: ensemble -> calibration -> direction -> pattern adjustment -> boosters -> bias.

Written once, over arrays: the backtest scores every bar of a pair in one call, the live scan cycle
scores the newest bar of each of its pairs in one call (`score_batch`), and reads each row's
explanation off the result (`result_of`). The scalar reference the tests check it against lives in
tests/oracles/scalar_decision.py (tests only).

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
from domain.market import (
    DEFAULT_SESSION_HOURS,
    MS_PER_HOUR,
    Session,
    SessionHours,
    VolRegime,
    session_masks,
    utc_hour,
)
from domain.signals import Direction
from domain.volatility import REGIME_OF_CODE

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
    # Sum in name order (the weights are sorted by name), one model at a time.
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


def mtf_booster_batch(direction_sign: IntArray, higher_tf_signs: IntArray, cfg: BoosterConfig) -> FloatArray:
    """Bonus for higher timeframes agreeing with each row's direction, malus for opposing ones;
    `higher_tf_signs` has shape (n, k): k higher timeframes' directions (+1, -1, 0)."""
    sign = np.asarray(direction_sign, dtype=np.int64)
    hs = np.asarray(higher_tf_signs, dtype=np.int64).reshape(sign.shape[0], -1)
    net = np.sign(hs * sign[:, None]).sum(axis=1)
    return np.asarray(np.clip(cfg.mtf_per_timeframe * net, -cfg.mtf_cap, cfg.mtf_cap), dtype=np.float64)


def session_booster_batch(ts_ms: IntArray, cfg: BoosterConfig) -> FloatArray:
    """The session booster at each timestamp: the rule below depends on the UTC hour alone, so it runs on
    the 24 hours once and each timestamp takes its hour's value."""
    return _session_boosters_by_hour(cfg)[utc_hour(ts_ms)]


def _session_boosters_by_hour(cfg: BoosterConfig) -> FloatArray:
    masks = session_masks(np.arange(24, dtype=np.int64) * MS_PER_HOUR, cfg.hours)
    bonus = dict(cfg.session_bonus)
    out = np.zeros(24)
    for s in Session:
        out = np.where(masks[s], np.maximum(out, bonus.get(s.value, 0.0)), out)
    out = np.where(masks[Session.LONDON] & masks[Session.NEW_YORK], cfg.overlap_bonus, out)
    return np.asarray(np.clip(out, -cfg.session_cap, cfg.session_cap), dtype=np.float64)


def regime_booster_batch(codes: IntArray, cfg: BoosterConfig) -> FloatArray:
    """The regime booster of each regime code (domain.volatility: 0 low, 1 medium, 2 high)."""
    bonus = dict(cfg.regime_bonus)
    table = np.clip(
        np.array([bonus.get(REGIME_OF_CODE[c].value, 0.0) for c in range(len(REGIME_OF_CODE))]),
        -cfg.regime_cap,
        cfg.regime_cap,
    )
    return np.asarray(table[np.asarray(codes, dtype=np.int64)], dtype=np.float64)


# ---------------------------------------------------------------- the whole pipeline


@attrs.frozen
class ConfidenceParams:
    weights: EnsembleWeights = WITHOUT_RL
    calibration: CalibrationMap = attrs.field(factory=IdentityMap)
    bias: float = 0.05
    pattern: PatternAdjustConfig = attrs.field(factory=PatternAdjustConfig)
    boosters: BoosterConfig = attrs.field(factory=BoosterConfig)


@attrs.frozen(eq=False)
class ConfidenceBatch:
    """`score_batch` over n rows: the outputs and every component they were built from (a component is
    None when its input was not given), so a row's explanation is read off, never recomputed."""

    prob_up: FloatArray  # calibrated ensemble probability of an up move; NaN where no model was present
    direction_sign: IntArray  # +1 long, -1 short, 0 where no model was present
    confidence: FloatArray  # final probability that the direction is right; NaN where no model was present
    ensemble: FloatArray  # the weighted ensemble mean before calibration; NaN where no model was present
    pattern: FloatArray | None = None  # pattern adjustment (probability points)
    mtf: FloatArray | None = None  # the boosters, each within its cap, before the total cap
    session: FloatArray | None = None
    regime: FloatArray | None = None
    regime_codes: IntArray | None = None  # the regime codes the regime booster looked at


@attrs.frozen
class ConfidenceResult:
    """One row of a ConfidenceBatch with its explanation (what a Signal carries)."""

    prob_up: float
    direction: Direction
    confidence: float
    reasons: tuple[str, ...]


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
    """The confidence of n rows (bars of one pair in the backtest, the pairs of one cycle live).

    `probs`: model name -> up-probability per row, NaN where that model has none. Ensemble ->
    calibration -> direction (long when the calibrated probability is >= 0.5) -> confidence in that
    direction -> + pattern adjustment -> + boosters (their sum within total_cap) -> - bias -> [0, 1]."""
    p = ensemble_prob_batch(probs, params.weights)
    missing = np.isnan(p)
    pc = params.calibration.apply_batch(np.where(missing, 0.5, p))
    sign = np.where(pc >= 0.5, 1, -1).astype(np.int64)
    conf = np.where(sign > 0, pc, 1.0 - pc)
    pattern = mtf = session = regime = None
    if pattern_wins is not None and pattern_total is not None:
        pattern = pattern_adjustment_batch(pattern_wins, pattern_total, params.pattern)
        conf = conf + pattern
    boost = np.zeros_like(conf)
    cfg = params.boosters
    if higher_tf_signs is not None and np.asarray(higher_tf_signs).size:
        mtf = mtf_booster_batch(sign, higher_tf_signs, cfg)
        boost = boost + mtf
    if ts_ms is not None:
        session = session_booster_batch(ts_ms, cfg)
        boost = boost + session
    codes = None
    if regime_codes is not None:
        codes = np.asarray(regime_codes, dtype=np.int64)
        regime = regime_booster_batch(codes, cfg)
        boost = boost + regime
    conf = conf + np.clip(boost, -cfg.total_cap, cfg.total_cap)
    conf = np.clip(conf - params.bias, 0.0, 1.0)
    return ConfidenceBatch(
        prob_up=np.where(missing, np.nan, pc),
        direction_sign=np.where(missing, 0, sign).astype(np.int64),
        confidence=np.where(missing, np.nan, conf),
        ensemble=p,
        pattern=pattern,
        mtf=mtf,
        session=session,
        regime=regime,
        regime_codes=codes,
    )


def result_of(
    cb: ConfidenceBatch, i: int, params: ConfidenceParams, probs: Mapping[str, FloatArray]
) -> ConfidenceResult | None:
    """Row i of a batch with its reasons (ensemble and the models in it, calibration, pattern, each
    booster, bias), read off the batch's components; None where no model was present. `probs` is the
    mapping the batch was scored from (it names the models that had a probability on that row)."""
    if cb.direction_sign[i] == 0:
        return None
    models = sorted(k for k, v in probs.items() if not math.isnan(v[i]))
    pc = float(cb.prob_up[i])
    reasons = [f"ensemble:{float(cb.ensemble[i]):.4f}[{','.join(models)}]"]
    if params.calibration.kind != "identity":
        reasons.append(f"calibration:{params.calibration.kind}:{pc:.4f}")
    if cb.pattern is not None:
        reasons.append(f"pattern:{float(cb.pattern[i]):+.4f}")
    if cb.mtf is not None:
        reasons.append(f"booster:mtf:{float(cb.mtf[i]):+.4f}")
    if cb.session is not None:
        reasons.append(f"booster:session:{float(cb.session[i]):+.4f}")
    if cb.regime is not None and cb.regime_codes is not None:
        regime = REGIME_OF_CODE[int(cb.regime_codes[i])]
        reasons.append(f"booster:regime:{regime.value}:{float(cb.regime[i]):+.4f}")
    reasons.append(f"bias:{-params.bias:+.4f}")
    direction = Direction.LONG if cb.direction_sign[i] > 0 else Direction.SHORT
    return ConfidenceResult(pc, direction, float(cb.confidence[i]), tuple(reasons))
