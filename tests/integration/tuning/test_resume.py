"""`--resume` after a kill: a run is SIGKILLed in the middle of a trial; resuming fails the trial it
left RUNNING, retries its parameters and completes the study, the trial numbers continuing. On
SQLite and on PostgreSQL (a throwaway schema; TRADING_AI_REQUIRE_PG=1 makes a missing server fail)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from composition.config import PROJECT_ROOT
from composition.tuning.executors import make_executor
from composition.tuning.objective import trial_job
from composition.tuning.study import complete_count, open_study, optimize, recover_stale
from domain.errors import UserError
from services.tuning import parse_space
from tests.integration.storage import pg
from tests.integration.tuning.helpers import SPACE, tune_data

N = 4


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'study.db'}"
    else:
        with pg.fresh_schema("tune") as url:
            yield url


def _wait_mid_trial(url: str, name: str, proc: subprocess.Popen[bytes], hold: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            s = optuna.load_study(study_name=name, storage=url)
            done = complete_count(s)
            running = [t for t in s.get_trials(deepcopy=False) if t.state is TrialState.RUNNING]
            # the third trial's job has started (its parameters are all stored) and is held there
            if done >= 2 and running and len(list(hold.iterdir())) >= 3:
                return
        except KeyError:
            pass  # not created yet
        time.sleep(0.1)
    raise AssertionError("the run never reached its third trial")


def test_resume_after_kill_continues_the_study(storage: str, tmp_path: Path) -> None:
    name = f"resume-{os.getpid()}-{time.time_ns()}"
    hold = tmp_path / "hold"  # its own folder: the SQLite study (and its -wal/-shm files) sit in tmp_path
    hold.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.tuning.study_proc", storage, name, str(N)],
        cwd=PROJECT_ROOT,
        stderr=subprocess.PIPE,
        env={**os.environ, "OMP_NUM_THREADS": "1", "TUNE_TEST_HOLD_DIR": str(hold)},
    )
    try:
        _wait_mid_trial(storage, name, proc, hold)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    with pytest.raises(UserError, match="--resume"):
        open_study(storage, name, False, 7)  # an existing study is never silently reused
    study = open_study(storage, name, True, 7)
    before = len(study.trials)
    stale = recover_stale(study, 1)
    assert len(stale) == 1
    done_before = complete_count(study)
    ex = make_executor("process", trial_job, tune_data(), 1)
    try:
        ran = optimize(study, parse_space(SPACE), ex, N, seed=7, batch=1, retries=1)
    finally:
        ex.close()
    assert complete_count(study) == N
    assert ran == N - done_before  # the stale trial's retry plus what was left, nothing re-run
    numbers = [t.number for t in study.trials]
    assert numbers == list(range(len(numbers))) and len(numbers) > before  # numbering continued
    killed = study.trials[stale[0]]
    assert killed.state is TrialState.FAIL
    retry = [t for t in study.trials if t.user_attrs.get("retry_of") == killed.number]
    assert retry and retry[0].params == killed.params and retry[0].state is TrialState.COMPLETE
