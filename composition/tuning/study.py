"""The Optuna study: storage, the ask/tell loop over an executor, retries, resume, the report.

Trials are asked in batches of `tuning.batch`, run on the executor, and told in trial order, and the
sampler is re-seeded from (seed, trials so far) before each batch: the parameters of trial k depend
on the seed and the study's history only, never on the executor or the number of workers, so a run
on the process pool, on Ray and in one process gives the same trials (tests/integration/tuning).

`--trials N` is the number of COMPLETE trials the study should hold: a resumed study runs the rest.
A trial whose job failed (an exception, a killed worker) is marked FAIL and its parameters are
enqueued again up to `tuning.retries` times. On `--resume`, trials left RUNNING by a dead process of
this host are failed and retried the same way.
"""

from __future__ import annotations

import os
import socket
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import optuna

from composition.config import Config
from composition.tuning.executors import TrialExecutor
from domain.errors import UserError
from services.tuning import Param

DIRECTIONS: list[optuna.study.StudyDirection] = [
    optuna.study.StudyDirection.MAXIMIZE
] * 2  # expectancy after costs, FTMO challenge pass rate
OBJECTIVES = ("expectancy", "pass_rate")


def storage_url(config: Config) -> str:
    """OPTUNA_STORAGE, or SQLite under the models dir."""
    url = config.tuning.storage.strip()
    if url:
        return url
    d = Path(config.training.models_dir)
    d.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(d / 'optuna.sqlite3').resolve()}"


def open_study(url: str, name: str, resume: bool, seed: int) -> optuna.Study:
    """A new study (refused when it exists and --resume is not given) or the existing one with --resume."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = optuna.storages.RDBStorage(url)
    except Exception as exc:  # a bad URL, an unreachable server: the user's to fix
        raise UserError(f"OPTUNA_STORAGE: cannot open {redact(url)}: {str(exc).splitlines()[0]}") from None
    exists = name in {s.study_name for s in optuna.get_all_study_summaries(storage)}
    if exists and not resume:
        raise UserError(f"study {name!r} exists in {redact(url)}: add --resume to continue it, or --study NEW_NAME")
    if not exists and resume:
        raise UserError(f"--resume: no study {name!r} in {redact(url)}")
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        directions=DIRECTIONS,
        sampler=optuna.samplers.TPESampler(seed=seed),
        load_if_exists=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(list(OBJECTIVES))
    return study


def redact(url: str) -> str:
    """The storage URL without its password."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparsable storage URL>"


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's trial: not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _suggest(trial: optuna.Trial, space: Sequence[Param]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in space:
        if p.integer:
            out[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high))
        else:
            out[p.name] = trial.suggest_float(p.name, p.low, p.high)
    return out


def _retry(
    study: optuna.Study, trial: optuna.trial.FrozenTrial | optuna.Trial, params: dict[str, Any], retries: int, why: str
) -> bool:
    attempt = int(trial.user_attrs.get("attempt", 0))
    if attempt >= retries:
        return False
    study.enqueue_trial(
        params, user_attrs={"retry_of": trial.number, "attempt": attempt + 1, "retry_reason": why}, skip_if_exists=False
    )
    return True


def recover_stale(study: optuna.Study, retries: int) -> list[int]:
    """Trials RUNNING in storage whose process on this host is gone (a killed run): FAIL + retry."""
    from optuna.trial import TrialState

    out = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = str(t.system_attrs.get("tune_owner", ""))
        if owner and _alive(owner):
            continue
        study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
        _retry(study, t, dict(t.params), retries, "left running by a killed run")
        out.append(t.number)
    return out


def complete_count(study: optuna.Study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


@attrs.frozen
class TrialRow:
    number: int
    state: str
    params: dict[str, Any]
    values: tuple[float, ...] | None
    trades: int
    error: str = ""


def optimize(
    study: optuna.Study,
    space: Sequence[Param],
    executor: TrialExecutor,
    n_trials: int,
    *,
    seed: int,
    batch: int,
    retries: int,
    on_trial: Callable[[TrialRow], None] = lambda r: None,
    max_failures: int | None = None,
) -> int:
    """Run trials until the study holds `n_trials` complete ones; returns the trials run here."""
    from optuna.trial import TrialState

    ran = 0
    failures = 0
    limit = max_failures if max_failures is not None else max(4, 2 * n_trials)
    while (todo := n_trials - complete_count(study)) > 0:
        study.sampler = optuna.samplers.TPESampler(
            seed=int(np.random.SeedSequence([seed, len(study.trials)]).generate_state(1)[0])
        )
        trials = [study.ask() for _ in range(min(batch, todo))]
        jobs = []
        for t in trials:
            study._storage.set_trial_system_attr(t._trial_id, "tune_owner", _owner())
            jobs.append(_suggest(t, space))
        results = executor.run(jobs)
        for t, params, res in zip(trials, jobs, results, strict=True):
            ran += 1
            if isinstance(res, BaseException):
                failures += 1
                why = f"{type(res).__name__}: {str(res).splitlines()[0] if str(res) else ''}"[:300]
                t.set_user_attr("error", why)
                study.tell(t, state=TrialState.FAIL)
                retried = _retry(study, t, params, retries, why)
                on_trial(TrialRow(t.number, "FAIL" + (" (retried)" if retried else ""), params, None, 0, why))
                continue
            for k in ("trades", "pnl", "attempts"):
                t.set_user_attr(k, res[k])
            t.set_user_attr("daily_pnl", [round(float(x), 6) for x in res["daily_pnl"]])
            values = (float(res["expectancy"]), float(res["pass_rate"]))
            study.tell(t, list(values))
            on_trial(TrialRow(t.number, "COMPLETE", params, values, int(res["trades"])))
        if failures > limit:
            raise UserError(
                f"tune: {failures} trials failed (last: {study.trials[-1].user_attrs.get('error')}); stopping"
            )
    return ran
