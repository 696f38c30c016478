"""The final test block is scored once per chosen trial (composition.tuning.report.final_test_block):
the first call runs the trial's parameters on the test block and keeps the figures in the study;
later calls, in this process or a resumed one, read them back without re-running. SYNTHETIC data."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from composition.tuning import objective, report
from tests.integration.tuning.helpers import tune_data


def test_the_test_block_is_scored_once_and_then_read_back(monkeypatch: pytest.MonkeyPatch) -> None:
    data = tune_data()
    study = optuna.create_study(directions=["maximize", "maximize"])
    params = {"sl_atr_mult": 2.0, "reward_risk": 1.5, "tier_low": 0.56, "hysteresis_scans": 1, "horizon_bars": 4}
    study.add_trial(optuna.trial.create_trial(params=params, distributions=_dists(), values=[0.0, 0.0]))
    chosen = study.trials[0]

    calls: list[dict[str, Any]] = []
    real = objective.evaluate

    def counting(d: Any, p: Any, test: bool = False) -> Any:
        calls.append(dict(p))
        assert test
        return real(d, p, test=test)

    monkeypatch.setattr(objective, "evaluate", counting)
    first, scored_now = report.final_test_block(study, data, chosen)
    assert scored_now and len(calls) == 1
    assert first == real(data, chosen.params, test=True).as_dict()
    assert study.user_attrs[f"test_block:{chosen.number}"] == first
    again, scored_now = report.final_test_block(study, data, chosen)
    assert not scored_now and again == first and len(calls) == 1


def _dists() -> dict[str, Any]:
    d = optuna.distributions
    return {
        "sl_atr_mult": d.FloatDistribution(1.0, 3.0),
        "reward_risk": d.FloatDistribution(1.0, 3.0),
        "tier_low": d.FloatDistribution(0.55, 0.62),
        "hysteresis_scans": d.IntDistribution(1, 3),
        "horizon_bars": d.IntDistribution(2, 8),
    }
