"""One settings builder: the runtime, the backtest, the challenge simulator and the training gates
receive equal settings for any config (composition.settings.kernel_settings is their one source)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from composition.config import load_config
from composition.containers import runtime_decision
from composition.model_choice import ModelChoice, challenge_engine_config, engine_config
from composition.settings import kernel_settings
from composition.training_inputs import train_settings
from domain.errors import ConfigError
from domain.ftmo import ChallengeKind
from domain.signals import Mode

LOG = logging.getLogger("test_settings")
NAMES = ("lstm", "transformer")


class _NoState:
    def load(self, mode: str) -> None:
        return None


def _pct(lo: float, hi: float) -> st.SearchStrategy[str]:
    return st.floats(lo, hi, allow_nan=False).map(lambda x: f"{x:.3f}")


@st.composite
def environments(draw: Any) -> dict[str, str]:
    env: dict[str, str] = {}

    def maybe(name: str, strat: st.SearchStrategy[str]) -> None:
        if draw(st.booleans()):
            env[name] = draw(strat)

    maybe("FTMO_CHALLENGE", st.sampled_from(["two-step", "one-step"]))
    maybe("FTMO_INITIAL_BALANCE", st.sampled_from(["10000", "25000", "100000", "200000"]))
    maybe("TRADING_AI_RISK_DAILY_LOSS_LIMIT_PCT", st.one_of(st.just("0"), _pct(0.5, 6)))
    maybe("TRADING_AI_RISK_MAX_LOSS_LIMIT_PCT", st.one_of(st.just("0"), _pct(5, 12)))
    maybe("DAILY_LOSS_BUFFER_PCT", st.one_of(st.just("0"), _pct(0.2, 6)))
    maybe("TOTAL_LOSS_BUFFER_PCT", st.one_of(st.just("0"), _pct(2, 12)))
    maybe("RISK_PER_TRADE_PCT", _pct(0.05, 2))
    maybe("KILL_SWITCH", st.sampled_from(["true", "false"]))
    maybe("MAX_SIGNALS_PER_HOUR", st.integers(1, 30).map(str))
    maybe("MAX_SIGNALS_PER_HOUR_HIGH", st.integers(0, 30).map(str))
    maybe("TRADING_AI_RISK_BACKOFF_LOSSES", st.integers(1, 5).map(str))
    maybe("TRADING_AI_RISK_BACKOFF_WINDOW_MINUTES", st.integers(1, 600).map(str))
    maybe("BACKOFF_RISK_REDUCTION_PCT", _pct(0, 100))
    maybe("MAX_OPEN_POSITIONS", st.integers(1, 10).map(str))
    maybe("MAX_POSITIONS_PER_PAIR", st.integers(1, 3).map(str))
    maybe("FLATTEN_ON_FLOOR", st.sampled_from(["true", "false"]))
    maybe("CONFIDENCE_THRESHOLD", _pct(0.5, 0.75))
    if draw(st.booleans()):
        lo, mid, hi = sorted(draw(st.lists(st.floats(0.5, 0.9), min_size=3, max_size=3)))
        env.update(
            {
                "TRADING_AI_CONFIDENCE_TIER_LOW": f"{lo:.3f}",
                "TRADING_AI_CONFIDENCE_TIER_MEDIUM": f"{mid:.3f}",
                "TRADING_AI_CONFIDENCE_TIER_HIGH": f"{hi:.3f}",
            }
        )
    maybe("TRADING_AI_CONFIDENCE_CONSERVATIVE_BIAS", _pct(0, 0.2))
    maybe("TRADING_AI_CONFIDENCE_HYSTERESIS_SCANS", st.integers(1, 5).map(str))
    maybe(
        "ENSEMBLE_WEIGHTS",
        st.sampled_from(
            [
                "lstm=0.5,transformer=0.5",
                "lstm=0.3,transformer=0.7",
                "lstm=1",
                "rl=1,sentiment=0.5",
                "lstm=0.2,transformer=0.3,sentiment=0.5",
            ]
        ),
    )
    maybe("TRADING_AI_BACKTEST_FEE_BPS", _pct(0, 10))
    maybe("TRADING_AI_BACKTEST_LATENCY_MS", st.sampled_from(["0", "100", "250", "800", "2000"]))
    maybe("TRADING_AI_BACKTEST_HORIZON_BARS", st.integers(1, 50).map(str))
    return env


def _consumers(env: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    """What each consumer is handed, built by the very functions the commands call."""
    config = load_config(env_file=None, environ=env)
    desk, params, hysteresis = runtime_decision(config, _NoState(), Mode.DRYRUN, LOG, list(names))
    model = ModelChoice("tag", "test", names, predictors=(object(),) * len(names))
    eng = engine_config(kernel_settings(config), model)
    chal = challenge_engine_config(config, False, model)
    gates = train_settings(config, quick=True)
    return {"desk": desk, "params": params, "hysteresis": hysteresis, "engine": eng, "challenge": chal, "gates": gates}


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(environments(), st.sampled_from([NAMES, ("lstm",), ("momentum",)]))
def test_runtime_backtest_challenge_and_gates_receive_equal_settings(
    env: dict[str, str], names: tuple[str, ...]
) -> None:
    try:
        kernel_settings(load_config(env_file=None, environ=env))
    except ConfigError:
        # a bad combination (a buffer above its limit) fails every consumer the same way, at boot
        for consumer in ("runtime", "backtest", "challenge", "gates"):
            with pytest.raises(ConfigError):
                _one(consumer, env, names)
        return
    c = _consumers(env, names)
    desk, eng, chal, gates = c["desk"], c["engine"], c["challenge"], c["gates"]
    for other in (eng, chal):
        assert desk.rules == other.rules
        assert desk.policy_cfg == other.policy
        assert desk.runtime.thresholds == other.thresholds
        assert desk.risk_per_trade_pct == other.risk_pct
        assert desk.fee_bps == other.fee_bps
        assert desk.latency_ms == other.latency_ms
        assert desk.policy.kill_switch == other.kill_switch
        assert c["params"] == other.confidence
        assert c["hysteresis"] == other.hysteresis_scans
    assert gates.thresholds == eng.thresholds
    assert gates.fee_bps == eng.fee_bps and gates.latency_ms == eng.latency_ms
    # the gates' ensemble is the runtime's weighted mean of the two networks
    w = kernel_settings(load_config(env_file=None, environ=env)).weights_for(NAMES).renormalised(NAMES)
    gw = dict(gates.ensemble_weights)
    total = sum(gw.values())
    assert {k: v / total for k, v in gw.items() if v > 0} == pytest.approx(w)


def _one(consumer: str, env: dict[str, str], names: tuple[str, ...]) -> Any:
    config = load_config(env_file=None, environ=env)
    model = ModelChoice("tag", "test", names, predictors=(object(),))
    if consumer == "runtime":
        return runtime_decision(config, _NoState(), Mode.DRYRUN, LOG, list(names))
    if consumer == "backtest":
        return engine_config(kernel_settings(config), model)
    if consumer == "challenge":
        return challenge_engine_config(config, False, model)
    return train_settings(config, quick=True)


# --- the disagreements measured before the one builder, now one truth ---------------------------------


def test_one_step_uses_its_own_limits_and_the_configured_buffers_everywhere() -> None:
    c = _consumers({"FTMO_CHALLENGE": "one-step"}, NAMES)
    for rules in (c["desk"].rules, c["engine"].rules, c["challenge"].rules):
        assert rules.kind is ChallengeKind.ONE_STEP
        assert (rules.daily_loss_limit_pct, rules.daily_buffer_pct) == (3.0, 2.7)
        assert (rules.max_loss_limit_pct, rules.total_buffer_pct) == (10.0, 9.0)
    c = _consumers({"FTMO_CHALLENGE": "one-step", "DAILY_LOSS_BUFFER_PCT": "2.0", "TOTAL_LOSS_BUFFER_PCT": "7"}, NAMES)
    for rules in (c["desk"].rules, c["engine"].rules, c["challenge"].rules):
        assert (rules.daily_buffer_pct, rules.total_buffer_pct) == (2.0, 7.0)


def test_challenge_one_step_flag_keeps_the_configured_buffers() -> None:
    config = load_config(env_file=None, environ={"DAILY_LOSS_BUFFER_PCT": "2.5"})
    rules = challenge_engine_config(config, True).rules
    assert rules.kind is ChallengeKind.ONE_STEP and rules.daily_buffer_pct == 2.5 and rules.daily_loss_limit_pct == 3.0


def test_one_step_buffer_above_its_limit_fails_at_boot() -> None:
    with pytest.raises(ConfigError, match="DAILY_LOSS_BUFFER_PCT"):
        kernel_settings(
            load_config(env_file=None, environ={"FTMO_CHALLENGE": "one-step", "DAILY_LOSS_BUFFER_PCT": "4.5"})
        )


def test_confidence_threshold_moves_the_low_tier_everywhere() -> None:
    c = _consumers({"CONFIDENCE_THRESHOLD": "0.58"}, NAMES)
    assert c["desk"].runtime.thresholds.low == c["engine"].thresholds.low == c["gates"].thresholds.low == 0.58


def test_live_desk_charges_the_backtest_latency_and_commission() -> None:
    c = _consumers({}, NAMES)
    assert c["desk"].latency_ms == c["engine"].latency_ms == 250.0
    assert c["desk"].fee_bps == c["engine"].fee_bps == c["gates"].fee_bps == 3.25


def test_two_step_defaults_are_ftmos() -> None:
    r = kernel_settings(load_config(env_file=None, environ={})).rules
    assert (r.daily_loss_limit_pct, r.daily_buffer_pct, r.max_loss_limit_pct, r.total_buffer_pct) == (5, 4.5, 10, 9)
