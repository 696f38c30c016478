"""Confidence pipeline, calibration maps and tiers with hysteresis; scalar vs array agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.calibration import (
    IdentityMap,
    IsotonicMap,
    PlattMap,
    calibration_from_dict,
    calibration_to_dict,
)
from domain.confidence import (
    SENTIMENT_ONLY,
    WITH_RL,
    WITHOUT_RL,
    BoosterConfig,
    BoosterInputs,
    ConfidenceParams,
    EnsembleWeights,
    PatternAdjustConfig,
    ensemble_prob,
    ensemble_prob_batch,
    mtf_booster,
    pattern_adjustment,
    regime_booster,
    regime_code,
    score,
    score_batch,
    session_booster,
)
from domain.errors import ConfigError
from domain.market import VolRegime
from domain.risk_book import PatternStat
from domain.signals import Direction, Tier, TierThresholds
from domain.tiering import Hysteresis, hysteresis_batch, raw_tiers_batch

H = 3_600_000


def test_presets_and_renormalisation() -> None:
    assert WITH_RL.as_dict() == {"lstm": 0.30, "transformer": 0.35, "rl": 0.25, "sentiment": 0.10}
    assert WITHOUT_RL.as_dict() == {"lstm": 0.5, "transformer": 0.5}
    assert SENTIMENT_ONLY.as_dict() == {"lstm": 0.30, "transformer": 0.35, "sentiment": 0.35}
    # RL absent: 0.30/0.35/0.10 renormalised over 0.75
    w = WITH_RL.renormalised(["lstm", "transformer", "sentiment"])
    assert w == pytest.approx({"lstm": 0.4, "transformer": 0.35 / 0.75, "sentiment": 0.10 / 0.75})
    assert ensemble_prob({"lstm": 0.6, "transformer": 0.8}, WITHOUT_RL) == pytest.approx(0.7)
    assert ensemble_prob({"lstm": 0.6}, WITHOUT_RL) == pytest.approx(0.6)
    assert ensemble_prob({"gan": 0.9}, WITHOUT_RL) is None
    assert ensemble_prob({"lstm": 0.6, "transformer": float("nan")}, WITHOUT_RL) == pytest.approx(0.6)


def test_parse_weights() -> None:
    w = EnsembleWeights.parse("lstm=0.3, transformer=0.35,RL=0.25,sentiment=0.1")
    assert w.as_dict() == WITH_RL.as_dict()
    for bad in ("lstm", "lstm=x", "=0.5", "lstm=-1", "lstm=0"):
        with pytest.raises(ConfigError):
            EnsembleWeights.parse(bad)


def test_platt_and_isotonic_exact() -> None:
    assert PlattMap(1.0, 0.0).apply(0.7) == pytest.approx(0.7)
    assert PlattMap(2.0, 0.0).apply(0.75) == pytest.approx(0.9)  # odds 3 -> 9
    assert PlattMap(1.0, math.log(2)).apply(0.5) == pytest.approx(2 / 3)
    iso = IsotonicMap([0.5, 0.7, 0.9], [0.5, 0.6, 0.8])
    assert iso.apply(0.6) == pytest.approx(0.55)
    assert iso.apply(0.95) == 0.8 and iso.apply(0.1) == 0.5
    assert IdentityMap().apply(1.5) == 1.0
    for bad in (
        lambda: PlattMap(-1, 0),
        lambda: IsotonicMap([0.1, 0.1], [0.2, 0.3]),
        lambda: IsotonicMap([0.1, 0.2], [0.3, 0.2]),
        lambda: IsotonicMap([0.1], [1.2]),
        lambda: IsotonicMap([0.1], [0.2, 0.3]),
    ):
        with pytest.raises(ValueError):
            bad()
    for m in (PlattMap(1.5, -0.2), iso, IdentityMap()):
        assert calibration_from_dict(calibration_to_dict(m)) == m
    with pytest.raises(ValueError):
        calibration_from_dict({"kind": "beta"})


@given(
    a=st.floats(0, 10),
    b=st.floats(-5, 5),
    xs=st.lists(st.floats(0, 1), min_size=2, max_size=30),
    ys=st.lists(st.floats(0, 1), min_size=1, max_size=10),
)
def test_calibration_maps_are_monotone_and_batch_equal(a: float, b: float, xs: list[float], ys: list[float]) -> None:
    x = np.sort(np.array(xs))
    knots_x = np.linspace(0.05, 0.95, len(ys))
    iso = IsotonicMap(knots_x, np.sort(np.array(ys)))
    for m in (PlattMap(a, b), iso, IdentityMap()):
        out = m.apply_batch(x)
        assert np.all(np.diff(out) >= -1e-12)
        assert np.all((out >= 0) & (out <= 1))
        assert [m.apply(float(v)) for v in x] == list(out)


def test_pattern_adjustment_sample_floor() -> None:
    cfg = PatternAdjustConfig(sample_floor=30, weight=0.5, max_abs=0.05, baseline=0.5)
    assert pattern_adjustment(21, 30, cfg) == pytest.approx(0.05)  # 0.5*(0.7-0.5)=0.1 capped at 0.05
    assert pattern_adjustment(36, 60, cfg) == pytest.approx(0.05)
    assert pattern_adjustment(7, 10, cfg) == pytest.approx(0.05 / 3)  # shrunk by 10/30
    assert pattern_adjustment(1, 1, cfg) == pytest.approx(0.05 / 30)
    assert pattern_adjustment(0, 0, cfg) == 0.0
    assert pattern_adjustment(12, 30, cfg) == pytest.approx(-0.05)
    assert pattern_adjustment(33, 60, cfg) == pytest.approx(0.025)


@given(w=st.integers(0, 500), extra=st.integers(0, 500), floor=st.integers(1, 100))
def test_pattern_adjustment_bounded_and_shrinks(w: int, extra: int, floor: int) -> None:
    cfg = PatternAdjustConfig(sample_floor=floor)
    t = w + extra
    adj = pattern_adjustment(w, t, cfg)
    assert abs(adj) <= cfg.max_abs * min(1.0, t / floor) + 1e-12


def test_boosters_bounded_and_exact() -> None:
    cfg = BoosterConfig()
    assert mtf_booster(1, (1, 1), cfg) == pytest.approx(0.02)
    assert mtf_booster(1, (1, 1, 1, 1, 1), cfg) == pytest.approx(0.03)  # capped
    assert mtf_booster(-1, (1, 1), cfg) == pytest.approx(-0.02)
    assert mtf_booster(1, (1, -1, 0), cfg) == 0.0
    assert session_booster(13 * H, cfg) == pytest.approx(0.02)  # London+NY overlap
    assert session_booster(8 * H, cfg) == pytest.approx(0.01)  # London (and Tokyo)
    assert session_booster(3 * H, cfg) == 0.0  # Tokyo only
    assert session_booster(22 * H, cfg) == 0.0  # none
    assert regime_booster(VolRegime.HIGH, cfg) == -0.02
    assert regime_booster(VolRegime.MEDIUM, cfg) == 0.0


def test_score_pipeline_exact_and_logged() -> None:
    params = ConfidenceParams()
    r = score({"lstm": 0.70, "transformer": 0.80}, params)
    assert r is not None
    assert r.direction is Direction.LONG and r.prob_up == pytest.approx(0.75)
    assert r.confidence == pytest.approx(0.70)  # 0.75 - 5 points
    assert r.reasons[-1] == "bias:-0.0500"
    short = score({"lstm": 0.2, "transformer": 0.3}, params)
    assert short is not None and short.direction is Direction.SHORT
    assert short.confidence == pytest.approx(0.70)
    inputs = BoosterInputs(
        ts_ms=13 * H, higher_tf_signs=(1, 1, 1), regime=VolRegime.HIGH, pattern=PatternStat("hammer", "h1", 21, 30)
    )
    b = score({"lstm": 0.70, "transformer": 0.80}, params, inputs)
    assert b is not None
    # 0.75 + pattern 0.05 + boosters clip(0.03 + 0.02 - 0.02, 0.05) - 0.05 = 0.78
    assert b.confidence == pytest.approx(0.78)
    assert any(x.startswith("pattern:hammer:+0.0500") for x in b.reasons)
    assert any(x.startswith("booster:mtf:+0.0300") for x in b.reasons)
    assert any(x.startswith("booster:session:+0.0200") for x in b.reasons)
    assert any(x.startswith("booster:regime:high:-0.0200") for x in b.reasons)
    big = BoosterInputs(ts_ms=13 * H, higher_tf_signs=(1, 1, 1), regime=VolRegime.MEDIUM)
    c = score({"lstm": 0.7, "transformer": 0.8}, params, big)
    assert c is not None and c.confidence == pytest.approx(0.75)  # boosters 0.05 capped at total_cap
    cal = score({"lstm": 0.75}, ConfidenceParams(calibration=PlattMap(2.0, 0.0)))
    assert cal is not None and cal.confidence == pytest.approx(0.85)
    assert any(x.startswith("calibration:platt") for x in cal.reasons)
    assert score({}, params) is None


prob = st.one_of(st.floats(0, 1), st.just(float("nan")))


@given(
    rows=st.lists(
        st.tuples(
            prob,
            prob,
            prob,
            st.integers(0, 2),
            st.integers(0, 86_400_000 * 7),
            st.tuples(st.integers(-1, 1), st.integers(-1, 1)),
            st.integers(0, 50),
            st.integers(0, 50),
        ),
        min_size=1,
        max_size=25,
    ),
    calib=st.sampled_from([IdentityMap(), PlattMap(1.7, -0.1), IsotonicMap([0.3, 0.5, 0.8], [0.2, 0.5, 0.9])]),
    weights=st.sampled_from([WITH_RL, WITHOUT_RL, SENTIMENT_ONLY]),
)
def test_score_batch_equals_scalar(rows: list[tuple], calib: object, weights: EnsembleWeights) -> None:  # type: ignore[type-arg]
    params = ConfidenceParams(weights=weights, calibration=calib)  # type: ignore[arg-type]
    names = ("lstm", "transformer", "sentiment")
    probs = {k: np.array([r[i] for r in rows]) for i, k in enumerate(names)}
    regimes = (VolRegime.LOW, VolRegime.MEDIUM, VolRegime.HIGH)
    wins = np.array([min(r[6], r[6] + r[7]) for r in rows])
    total = np.array([r[6] + r[7] for r in rows])
    batch = score_batch(
        probs,
        params,
        ts_ms=np.array([r[4] for r in rows]),
        higher_tf_signs=np.array([r[5] for r in rows]),
        regime_codes=np.array([r[3] for r in rows]),
        pattern_wins=wins,
        pattern_total=total,
    )
    for i, r in enumerate(rows):
        res = score(
            {k: float(r[j]) for j, k in enumerate(names)},
            params,
            BoosterInputs(
                ts_ms=r[4],
                higher_tf_signs=r[5],
                regime=regimes[r[3]],
                pattern=PatternStat("p", "p", int(wins[i]), int(total[i])),
            ),
        )
        if res is None:
            assert np.isnan(batch.confidence[i]) and batch.direction_sign[i] == 0
        else:
            assert res.confidence == batch.confidence[i]
            assert res.prob_up == batch.prob_up[i]
            assert res.direction.sign == batch.direction_sign[i]
    assert regime_code(VolRegime.HIGH) == 2


def test_ensemble_batch_with_no_known_model() -> None:
    out = ensemble_prob_batch({"gan": np.array([0.5, 0.6])}, WITHOUT_RL)
    assert np.isnan(out).all() and out.shape == (2,)


def test_tier_thresholds() -> None:
    th = TierThresholds(0.55, 0.60, 0.68)
    assert [th.tier_of(c) for c in (0.5, 0.55, 0.6, 0.679, 0.68)] == [
        Tier.NONE,
        Tier.LOW,
        Tier.MEDIUM,
        Tier.MEDIUM,
        Tier.HIGH,
    ]
    assert list(raw_tiers_batch(np.array([0.5, 0.55, 0.6, 0.679, 0.68, np.nan]), th)) == [0, 1, 2, 2, 3, 0]
    assert Tier.NONE < Tier.LOW < Tier.MEDIUM < Tier.HIGH
    assert th.with_threshold(Tier.HIGH, 0.7).high == 0.7
    with pytest.raises(ConfigError):
        th.with_threshold(Tier.LOW, 0.9)
    with pytest.raises(ConfigError):
        th.with_threshold(Tier.NONE, 0.9)
    assert th.threshold(Tier.MEDIUM) == 0.60 and th.threshold(Tier.NONE) == 0.0
    assert Tier.parse("high") is Tier.HIGH
    with pytest.raises(ConfigError):
        Tier.parse("ultra")


def test_hysteresis_exact_sequence() -> None:
    h = Hysteresis(2)
    seq = [Tier.HIGH, Tier.HIGH, Tier.MEDIUM, Tier.HIGH, Tier.HIGH, Tier.NONE, Tier.LOW]
    out = []
    for t in seq:
        h, eff = h.step(Direction.LONG, t)
        out.append(eff)
    assert out == [Tier.NONE, Tier.HIGH, Tier.MEDIUM, Tier.MEDIUM, Tier.HIGH, Tier.NONE, Tier.NONE]
    # a direction flip restarts the streak
    h2 = Hysteresis(2)
    h2, _ = h2.step(Direction.LONG, Tier.HIGH)
    h2, eff = h2.step(Direction.SHORT, Tier.HIGH)
    assert eff is Tier.NONE
    h3 = Hysteresis(2).step(Direction.LONG, Tier.HIGH)[0].skip()
    assert h3.step(Direction.LONG, Tier.HIGH)[1] is Tier.NONE
    assert Hysteresis(1).step(Direction.SHORT, Tier.LOW)[1] is Tier.LOW
    with pytest.raises(ValueError):
        Hysteresis(0)


@given(
    scans=st.lists(st.tuples(st.sampled_from([-1, 0, 1]), st.integers(0, 3)), max_size=60),
    k=st.integers(1, 4),
)
def test_hysteresis_batch_equals_scalar_and_never_upgrades_on_one_scan(scans: list[tuple[int, int]], k: int) -> None:
    h = Hysteresis(k)
    scalar: list[int] = []
    for d, t in scans:
        if d == 0:
            h = h.skip()
            scalar.append(0)
        else:
            h, tier = h.step(Direction.LONG if d > 0 else Direction.SHORT, Tier(t))
            scalar.append(int(tier))
    d_arr = np.array([s[0] for s in scans], dtype=np.int64)
    r_arr = np.array([s[1] if s[0] != 0 else 0 for s in scans], dtype=np.int64)
    batch = hysteresis_batch(d_arr, r_arr, k)
    assert list(batch) == scalar
    for i, eff in enumerate(scalar):
        assert eff <= r_arr[i]  # downgrade at once
        if k >= 2 and eff > 0:
            # the previous k-1 scans were in the same direction and at least this tier
            assert i >= k - 1
            for j in range(i - k + 1, i):
                assert d_arr[j] == d_arr[i] and r_arr[j] >= eff
