"""ORACLE ONLY (tests): the per-bar decision's steps written as plain scalar Python, one scan of one
pair at a time, independently of the production array code (domain.confidence.score_batch,
domain.tiering, domain.sentiment.against_sentiment_batch). Tests check the production steps against
these row by row, bit for bit; no production code imports this module.

These are the scalar forms production used to carry next to the array forms (the live scan cycle
ran them); the live cycle now runs the array steps on the newest bar.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

from domain.confidence import BoosterConfig, ConfidenceParams, EnsembleWeights, PatternAdjustConfig
from domain.market import Session, VolRegime
from domain.risk_book import PatternStat
from domain.signals import Direction, Tier, TierThresholds

_MS_PER_HOUR = 3_600_000


def ensemble_prob(probs: Mapping[str, float], weights: EnsembleWeights) -> float | None:
    """Weighted mean of the present models' up-probabilities; None if no weighted model is present."""
    w = weights.renormalised([k for k, v in probs.items() if not math.isnan(v)])
    if not w:
        return None
    return sum(w[k] * probs[k] for k in sorted(w))


def pattern_adjustment(wins: int, total: int, cfg: PatternAdjustConfig) -> float:
    if total <= 0:
        return 0.0
    raw = cfg.weight * (wins / total - cfg.baseline)
    bounded = min(cfg.max_abs, max(-cfg.max_abs, raw))
    return bounded * min(1.0, total / cfg.sample_floor)


def _clip(x: float, cap: float) -> float:
    return min(cap, max(-cap, x))


def mtf_booster(direction_sign: int, higher_tf_signs: Sequence[int], cfg: BoosterConfig) -> float:
    net = sum(1 if s * direction_sign > 0 else -1 if s * direction_sign < 0 else 0 for s in higher_tf_signs)
    return _clip(cfg.mtf_per_timeframe * net, cfg.mtf_cap)


def _open(session: Session, ts_ms: int, cfg: BoosterConfig) -> bool:
    h = (ts_ms % (24 * _MS_PER_HOUR)) // _MS_PER_HOUR
    start, end = cfg.hours.of(session)
    return start <= h < end if start < end else (h >= start or h < end)


def session_booster(ts_ms: int, cfg: BoosterConfig) -> float:
    bonus = dict(cfg.session_bonus)
    if _open(Session.LONDON, ts_ms, cfg) and _open(Session.NEW_YORK, ts_ms, cfg):
        return _clip(cfg.overlap_bonus, cfg.session_cap)
    out = 0.0
    for s in Session:
        if _open(s, ts_ms, cfg):
            out = max(out, bonus.get(s.value, 0.0))
    return _clip(out, cfg.session_cap)


def regime_booster(regime: VolRegime, cfg: BoosterConfig) -> float:
    return _clip(dict(cfg.regime_bonus).get(regime.value, 0.0), cfg.regime_cap)


@attrs.frozen
class BoosterInputs:
    ts_ms: int | None = None
    higher_tf_signs: tuple[int, ...] = ()
    regime: VolRegime | None = None
    pattern: PatternStat | None = None


@attrs.frozen
class ScalarResult:
    prob_up: float
    direction: Direction
    confidence: float
    reasons: tuple[str, ...]


def score(
    probs: Mapping[str, float], params: ConfidenceParams, inputs: BoosterInputs = BoosterInputs()
) -> ScalarResult | None:
    """One pair's confidence for one scan, with the reasons the live cycle attaches; None when no
    weighted model produced a probability."""
    p = ensemble_prob(probs, params.weights)
    if p is None:
        return None
    reasons = [f"ensemble:{p:.4f}[{','.join(sorted(k for k in probs if not math.isnan(probs[k])))}]"]
    pc = params.calibration.apply(p)
    if params.calibration.kind != "identity":
        reasons.append(f"calibration:{params.calibration.kind}:{pc:.4f}")
    direction = Direction.LONG if pc >= 0.5 else Direction.SHORT
    conf = pc if direction is Direction.LONG else 1.0 - pc
    if inputs.pattern is not None:
        adj = pattern_adjustment(inputs.pattern.wins, inputs.pattern.total, params.pattern)
        conf += adj
        reasons.append(f"pattern:{adj:+.4f}")
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
    return ScalarResult(pc, direction, min(1.0, max(0.0, conf)), tuple(reasons))


def tier_of(th: TierThresholds, confidence: float) -> Tier:
    if confidence >= th.high:
        return Tier.HIGH
    if confidence >= th.medium:
        return Tier.MEDIUM
    if confidence >= th.low:
        return Tier.LOW
    return Tier.NONE


@attrs.frozen
class Hysteresis:
    """Per-pair memory: the last N-1 scans as (direction sign, raw tier)."""

    scans_required: int = 2
    history: tuple[tuple[int, int], ...] = ()

    def step(self, direction: Direction, raw: Tier) -> tuple[Hysteresis, Tier]:
        window = (*self.history, (direction.sign, int(raw)))
        n = self.scans_required
        if len(window) < n:
            effective = Tier.NONE
        else:
            effective = Tier(min(t if s == direction.sign else 0 for s, t in window[-n:]))
        keep = window[-(n - 1) :] if n > 1 else ()
        return attrs.evolve(self, history=keep), effective

    def skip(self) -> Hysteresis:
        """A scan without a prediction breaks the streak."""
        return self.step(Direction.LONG, Tier.NONE)[0]


def against_sentiment(direction_sign: int, member_prob: float | None, bound: float) -> bool:
    if member_prob is None or math.isnan(member_prob) or bound <= 0:
        return False
    s = 2.0 * member_prob - 1.0
    return abs(s) >= bound and s * direction_sign < 0
