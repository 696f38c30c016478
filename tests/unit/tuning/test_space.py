"""The search space from config and the trial's settings through the one settings builder."""

from __future__ import annotations

import attrs
import pytest

from composition.config import Config
from composition.tuning.objective import trial_config
from domain.errors import ConfigError
from services.tuning import parse_space


def test_default_space_parses_with_integers_where_both_ends_are() -> None:
    space = {p.name: p for p in parse_space(Config().tuning.space)}
    assert space["hysteresis_scans"].integer and space["horizon_bars"].integer
    assert not space["sl_atr_mult"].integer
    assert (space["reward_risk"].low, space["reward_risk"].high) == (1.0, 3.0)


@pytest.mark.parametrize(
    "text, msg",
    [
        ("nope=1..2", "unknown parameter"),
        ("sl_atr_mult=2..1", "below"),
        ("sl_atr_mult=1-2", "lo..hi"),
        ("sl_atr_mult=a..2", "not a number"),
        ("", "empty"),
        ("reward_risk=1..2,reward_risk=1..3", "twice"),
    ],
)
def test_bad_space_is_a_config_error(text: str, msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        parse_space(text)


def test_trial_config_sorts_tiers_and_sets_config_fields() -> None:
    c = trial_config(
        Config(), {"tier_low": 0.7, "tier_medium": 0.56, "tier_high": 0.6, "hysteresis_scans": 3, "horizon_bars": 9}
    )
    assert (c.confidence.tier_low, c.confidence.tier_medium, c.confidence.tier_high) == (0.56, 0.6, 0.7)
    assert c.confidence.hysteresis_scans == 3 and c.backtest.horizon_bars == 9
    assert trial_config(Config(), {}) == Config()  # no parameter: the config unchanged
    assert attrs.evolve(Config()).tuning.folds == 4
