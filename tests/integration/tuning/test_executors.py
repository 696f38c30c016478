"""The executors: the same seeds give the same trials in one process, on the process pool and on Ray;
a worker killed mid-trial leaves that trial FAIL, its parameters are retried and the study goes on.
SYNTHETIC candles (tests/integration/tuning/helpers.py): these test mechanics, not the market."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from composition.tuning.executors import make_executor
from composition.tuning.objective import trial_job
from composition.tuning.study import complete_count, open_study, optimize
from services.tuning import parse_space
from tests.integration.tuning.helpers import SPACE, die_once_job, tune_data

N_TRIALS = 4


def _run(tmp_path: Path, name: str, kind: str, workers: int, fn: Any = trial_job, data: Any = None) -> optuna.Study:
    study = open_study(f"sqlite:///{tmp_path / (name + '.db')}", name, False, 7)
    ex = make_executor(kind, fn, data if data is not None else tune_data(), workers)
    try:
        optimize(study, parse_space(SPACE), ex, N_TRIALS, seed=7, batch=2, retries=1)
    finally:
        ex.close()
    return study


def _trials(study: optuna.Study) -> list[tuple[dict[str, Any], tuple[float, ...], Any]]:
    return [
        (t.params, tuple(t.values), t.user_attrs["daily_pnl"]) for t in study.trials if t.state is TrialState.COMPLETE
    ]


@pytest.fixture(scope="module")
def serial(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    return _trials(_run(tmp_path_factory.mktemp("serial"), "serial", "process", 1))


def test_process_pool_equals_serial(tmp_path: Path, serial: list[Any]) -> None:
    got = _trials(_run(tmp_path, "pool", "process", 2))
    assert got == serial
    assert len(serial) == N_TRIALS
    assert len({tuple(sorted(p.items())) for p, _v, _d in serial}) == N_TRIALS  # the sampler did move
    assert any(v[0] != 0.0 for _p, v, _d in serial)  # trades happened


def test_ray_equals_serial(tmp_path: Path, serial: list[Any], ray_cluster: Any) -> None:
    assert _trials(_run(tmp_path, "ray", "ray", 2)) == serial


def _killed_then_retried(study: optuna.Study) -> None:
    failed = [t for t in study.trials if t.state is TrialState.FAIL]
    assert failed, "no trial was marked failed"
    assert complete_count(study) == N_TRIALS  # the study went on
    retries = [t for t in study.trials if "retry_of" in t.user_attrs]
    for f in failed:
        again = [t for t in retries if t.user_attrs["retry_of"] == f.number]
        assert again and again[0].params == f.params and again[0].state is TrialState.COMPLETE


def test_process_pool_worker_killed_mid_trial_is_retried(tmp_path: Path, serial: list[Any]) -> None:
    study = _run(tmp_path, "kill-pool", "process", 2, die_once_job, (tune_data(), str(tmp_path)))
    _killed_then_retried(study)
    assert (tmp_path / "died").exists()


def test_ray_worker_killed_mid_trial_is_retried(tmp_path: Path, ray_cluster: Any) -> None:
    study = _run(tmp_path, "kill-ray", "ray", 2, die_once_job, (tune_data(), str(tmp_path)))
    _killed_then_retried(study)
    assert "WorkerCrashedError" in "".join(str(t.user_attrs.get("error", "")) for t in study.trials)


def test_ray_walk_forward_equals_the_services_walk_forward(ray_cluster: Any) -> None:
    """`trading-ai backtest --walk-forward --executor ray`: the periods as Ray tasks, same results."""
    import numpy as np

    from composition.tuning.executors import run_walk_forward_on
    from domain.backtest.engine import EngineConfig
    from domain.execution_costs import FixedCostModel
    from domain.settings import KernelSettings
    from services.backtest import run_walk_forward, split_periods
    from tests.integration.tuning.helpers import synthetic_pairs

    periods = split_periods(synthetic_pairs(), 3)
    cfg, costs = EngineConfig.from_settings(KernelSettings(), ("momentum",)), FixedCostModel(4.0, 1.0)
    ref = run_walk_forward(periods, cfg, costs, 11, workers=1)
    got = run_walk_forward_on("ray", periods, cfg, costs, 11, 2)
    assert [r.final_balance for r in got] == [r.final_balance for r in ref]
    assert sum(len(r.trades["pnl"]) for r in ref) > 0
    for a, b in zip(got, ref, strict=True):
        assert np.array_equal(a.trades["pnl"], b.trades["pnl"])
