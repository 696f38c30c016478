"""Confidence pipeline, calibration maps and tiers with hysteresis: exact figures, and the production
array steps against the scalar oracle (tests/oracles/scalar_decision.py) row by row, bit for bit."""

from __future__ import annotations

import itertools
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
    ConfidenceParams,
    ConfidenceResult,
    EnsembleWeights,
    PatternAdjustConfig,
    ensemble_prob_batch,
    mtf_booster_batch,
    pattern_adjustment_batch,
    regime_booster_batch,
    result_of,
    score_batch,
    session_booster_batch,
)
from domain.errors import ConfigError
from domain.market import VolRegime
from domain.risk_book import PatternStat
from domain.signals import Direction, Tier, TierThresholds
from domain.tiering import hysteresis_batch, hysteresis_run, raw_tiers_batch
from domain.volatility import HIGH, LOW, MEDIUM
from tests.oracles import scalar_decision as oracle

H = 3_600_000


def _ens(probs: dict[str, float], weights: EnsembleWeights) -> float:
    return float(ensemble_prob_batch({k: np.array([v]) for k, v in probs.items()}, weights)[0])


def _one(probs: dict[str, float], params: ConfidenceParams, **inputs: object) -> ConfidenceResult | None:
    """One row through score_batch + result_of, as the live cycle runs it."""
    cols = {k: np.array([v]) for k, v in probs.items()}
    arrays = {k: np.array([v]) for k, v in inputs.items()}
    return result_of(score_batch(cols, params, **arrays), 0, params, cols)


def test_presets_and_renormalisation() -> None:
    assert WITH_RL.as_dict() == {"lstm": 0.30, "transformer": 0.35, "rl": 0.25, "sentiment": 0.10}
    assert WITHOUT_RL.as_dict() == {"lstm": 0.5, "transformer": 0.5}
    assert SENTIMENT_ONLY.as_dict() == {"lstm": 0.30, "transformer": 0.35, "sentiment": 0.35}
    # RL absent: 0.30/0.35/0.10 renormalised over 0.75
    w = WITH_RL.renormalised(["lstm", "transformer", "sentiment"])
    assert w == pytest.approx({"lstm": 0.4, "transformer": 0.35 / 0.75, "sentiment": 0.10 / 0.75})
    assert _ens({"lstm": 0.6, "transformer": 0.8}, WITHOUT_RL) == pytest.approx(0.7)
    assert _ens({"lstm": 0.6}, WITHOUT_RL) == pytest.approx(0.6)
    assert math.isnan(_ens({"gan": 0.9}, WITHOUT_RL))
    assert _ens({"lstm": 0.6, "transformer": float("nan")}, WITHOUT_RL) == pytest.approx(0.6)
    assert _ens({"lstm": 0.3, "transformer": 0.6, "sentiment": 0.9}, WITH_RL) == pytest.approx(
        0.4 * 0.3 + 0.35 / 0.75 * 0.6 + 0.10 / 0.75 * 0.9
    )


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
    wins = np.array([21, 36, 7, 1, 0, 12, 33])
    total = np.array([30, 60, 10, 1, 0, 30, 60])
    assert pattern_adjustment_batch(wins, total, cfg).tolist() == pytest.approx(
        # 0.5*(0.7-0.5)=0.1 capped at 0.05; 7/10 shrunk by 10/30; no sample: 0
        [0.05, 0.05, 0.05 / 3, 0.05 / 30, 0.0, -0.05, 0.025]
    )


@given(w=st.integers(0, 500), extra=st.integers(0, 500), floor=st.integers(1, 100))
def test_pattern_adjustment_bounded_shrinks_and_equals_the_oracle(w: int, extra: int, floor: int) -> None:
    cfg = PatternAdjustConfig(sample_floor=floor)
    t = w + extra
    adj = float(pattern_adjustment_batch(np.array([w]), np.array([t]), cfg)[0])
    assert abs(adj) <= cfg.max_abs * min(1.0, t / floor) + 1e-12
    assert adj == oracle.pattern_adjustment(w, t, cfg)


def test_boosters_bounded_and_exact() -> None:
    cfg = BoosterConfig()
    mtf = mtf_booster_batch(
        np.array([1, 1, -1, 1]), np.array([[1, 1, 0, 0, 0], [1] * 5, [1, 1, 0, 0, 0], [1, -1, 0, 0, 0]]), cfg
    )
    assert mtf.tolist() == pytest.approx([0.02, 0.03, -0.02, 0.0])  # 5 agreeing: capped at 0.03
    # London+NY overlap, London (and Tokyo), Tokyo only, none
    ts = np.array([13 * H, 8 * H, 3 * H, 22 * H])
    assert session_booster_batch(ts, cfg).tolist() == pytest.approx([0.02, 0.01, 0.0, 0.0])
    assert regime_booster_batch(np.array([HIGH, MEDIUM, LOW]), cfg).tolist() == [-0.02, 0.0, -0.01]
    capped = BoosterConfig(regime_bonus={VolRegime.HIGH: -0.2}, regime_cap=0.03)
    assert regime_booster_batch(np.array([HIGH, LOW]), capped).tolist() == [-0.03, 0.0]


def test_score_pipeline_exact_and_logged() -> None:
    params = ConfidenceParams()
    r = _one({"lstm": 0.70, "transformer": 0.80}, params)
    assert r is not None
    assert r.direction is Direction.LONG and r.prob_up == pytest.approx(0.75)
    assert r.confidence == pytest.approx(0.70)  # 0.75 - 5 points
    assert r.reasons == ("ensemble:0.7500[lstm,transformer]", "bias:-0.0500")
    short = _one({"lstm": 0.2, "transformer": 0.3}, params)
    assert short is not None and short.direction is Direction.SHORT
    assert short.confidence == pytest.approx(0.70)
    # the direction is long from an up-probability of one half on
    half, below = _one({"lstm": 0.5}, params), _one({"lstm": 0.49}, params)
    assert half is not None and half.direction is Direction.LONG
    assert below is not None and below.direction is Direction.SHORT
    b = _one(
        {"lstm": 0.70, "transformer": 0.80},
        params,
        ts_ms=13 * H,
        higher_tf_signs=[1, 1, 1],
        regime_codes=HIGH,
        pattern_wins=21,
        pattern_total=30,
    )
    assert b is not None
    # 0.75 + pattern 0.05 + boosters clip(0.03 + 0.02 - 0.02, 0.05) - 0.05 = 0.78
    assert b.confidence == pytest.approx(0.78)
    assert b.reasons == (
        "ensemble:0.7500[lstm,transformer]",
        "pattern:+0.0500",
        "booster:mtf:+0.0300",
        "booster:session:+0.0200",
        "booster:regime:high:-0.0200",
        "bias:-0.0500",
    )
    c = _one({"lstm": 0.7, "transformer": 0.8}, params, ts_ms=13 * H, higher_tf_signs=[1, 1, 1], regime_codes=MEDIUM)
    assert c is not None and c.confidence == pytest.approx(0.75)  # boosters 0.05 capped at total_cap
    cal = _one({"lstm": 0.75}, ConfidenceParams(calibration=PlattMap(2.0, 0.0)))
    assert cal is not None and cal.confidence == pytest.approx(0.85)
    assert cal.reasons[:2] == ("ensemble:0.7500[lstm]", "calibration:platt:0.9000")
    assert _one({"gan": 0.9}, params) is None
    none = score_batch({"lstm": np.array([np.nan, 0.8])}, params)
    assert np.isnan(none.confidence[0]) and none.direction_sign.tolist() == [0, 1]


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
def test_score_batch_equals_the_scalar_oracle(rows: list[tuple], calib: object, weights: EnsembleWeights) -> None:  # type: ignore[type-arg]
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
        want = oracle.score(
            {k: float(r[j]) for j, k in enumerate(names)},
            params,
            oracle.BoosterInputs(
                ts_ms=r[4],
                higher_tf_signs=r[5],
                regime=regimes[r[3]],
                pattern=PatternStat("p", "p", int(wins[i]), int(total[i])),
            ),
        )
        got = result_of(batch, i, params, probs)
        if want is None:
            assert got is None
            assert np.isnan(batch.confidence[i]) and batch.direction_sign[i] == 0
        else:
            assert got is not None
            assert got.confidence == want.confidence == batch.confidence[i]
            assert got.prob_up == want.prob_up == batch.prob_up[i]
            assert got.direction is want.direction and want.direction.sign == batch.direction_sign[i]
            assert got.reasons == want.reasons


def test_ensemble_batch_with_no_known_model() -> None:
    out = ensemble_prob_batch({"gan": np.array([0.5, 0.6])}, WITHOUT_RL)
    assert np.isnan(out).all() and out.shape == (2,)


def test_tier_thresholds() -> None:
    th = TierThresholds(0.55, 0.60, 0.68)
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


@given(
    conf=st.lists(st.floats(0, 1), min_size=1, max_size=30),
    cuts=st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)),
)
def test_raw_tiers_equal_the_scalar_oracle(conf: list[float], cuts: tuple[float, float, float]) -> None:
    lo, mid, hi = sorted(cuts)
    th = TierThresholds(lo, mid, hi)
    assert raw_tiers_batch(np.array(conf), th).tolist() == [int(oracle.tier_of(th, c)) for c in conf]


def _tiers(scans: list[tuple[int, int]], k: int, history: tuple[tuple[int, int], ...] = ()) -> list[int]:
    d = np.array([s for s, _ in scans], dtype=np.int64)
    r = np.array([t for _, t in scans], dtype=np.int64)
    return [int(t) for t in hysteresis_run(d, r, k, history).tier]


def test_hysteresis_exact_sequence() -> None:
    seq = [Tier.HIGH, Tier.HIGH, Tier.MEDIUM, Tier.HIGH, Tier.HIGH, Tier.NONE, Tier.LOW]
    assert _tiers([(1, int(t)) for t in seq], 2) == [0, 3, 2, 2, 3, 0, 0]
    assert _tiers([(1, 3), (-1, 3)], 2) == [0, 0]  # a direction flip restarts the streak
    assert _tiers([(1, 3), (0, 0), (1, 3)], 2) == [0, 0, 0]  # a scan without a prediction breaks it
    assert _tiers([(-1, 1)], 1) == [1]
    # the memory carries the streak into the next call
    first = hysteresis_run(np.array([1]), np.array([3]), 2)
    assert first.tier.tolist() == [0] and first.history == ((1, 3),)
    assert _tiers([(1, 2)], 2, first.history) == [2]
    assert _tiers([(1, 3)], 2, ((1, 3), (1, 1), (-1, 3))) == [0]  # only the last N-1 remembered scans count
    assert hysteresis_run(np.array([1, 1, -1]), np.array([1, 2, 3]), 3).history == ((1, 2), (-1, 3))
    assert hysteresis_run(np.array([1]), np.array([2]), 1).history == ()
    with pytest.raises(ValueError):
        hysteresis_run(np.array([1]), np.array([1]), 0)


scan = st.tuples(st.sampled_from([-1, 0, 1]), st.integers(0, 3))


@given(scans=st.lists(scan, max_size=60), k=st.integers(1, 4))
def test_hysteresis_equals_the_scalar_oracle_and_never_upgrades_on_one_scan(
    scans: list[tuple[int, int]], k: int
) -> None:
    h = oracle.Hysteresis(k)
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


@given(scans=st.lists(scan, max_size=60), k=st.integers(1, 4), cuts=st.lists(st.integers(0, 60), max_size=8))
def test_hysteresis_run_in_pieces_carrying_the_memory_equals_one_run(
    scans: list[tuple[int, int]], k: int, cuts: list[int]
) -> None:
    """The live cycle (one scan per call, the memory carried) and the backtest (the whole series in one
    call) are the same function: any split of a series gives the same tiers and the same final memory."""
    d = np.array([s for s, _ in scans], dtype=np.int64)
    r = np.array([t if s != 0 else 0 for s, t in scans], dtype=np.int64)
    whole = hysteresis_run(d, r, k)
    bounds = [0, *sorted(c for c in cuts if c <= len(scans)), len(scans)]
    history: tuple[tuple[int, int], ...] = ()
    pieces: list[int] = []
    for a, b in itertools.pairwise(bounds):
        run = hysteresis_run(d[a:b], r[a:b], k, history)
        pieces += run.tier.tolist()
        history = run.history
    one_by_one: tuple[tuple[int, int], ...] = ()
    for i in range(len(scans)):
        one_by_one = hysteresis_run(d[i : i + 1], r[i : i + 1], k, one_by_one).history
    assert pieces == whole.tier.tolist()
    assert history == whole.history == one_by_one
    assert len(whole.history) == min(k - 1, len(scans))
