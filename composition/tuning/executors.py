"""Where trials run: in this process, a local process pool (default) or Ray (the `[scale]` extra).

Every executor runs a batch of jobs and returns one result per job, in job order: the job's value
or the exception that ended it (a worker killed mid-trial gives BrokenProcessPool on the pool, a
RayError on Ray). The study marks such a trial failed and retries its parameters. The shared data
(candles, predictions, folds) reaches the workers once: the pool's initializer, or one `ray.put`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from domain.errors import UserError

Job = Callable[[Any, dict[str, Any]], dict[str, Any]]
EXECUTORS = ("process", "ray")


class TrialExecutor(Protocol):
    name: str
    workers: int
    startup_s: float  # time to bring the executor up (Ray start-up), reported apart from the trials

    def run(self, jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any] | BaseException]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """In this process, one job after the other (workers = 1)."""

    name = "serial"

    def __init__(self, fn: Job, data: Any) -> None:
        self.fn, self.data, self.workers, self.startup_s = fn, data, 1, 0.0

    def run(self, jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any] | BaseException]:
        out: list[dict[str, Any] | BaseException] = []
        for j in jobs:
            try:
                out.append(self.fn(self.data, j))
            except Exception as exc:  # a failing trial is the study's to record, not a crash
                out.append(exc)
        return out

    def close(self) -> None:
        pass


_worker_state: dict[str, Any] = {}


def _init_worker(fn: Job, data: Any) -> None:
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _worker_state["fn"], _worker_state["data"] = fn, data


def _call(params: dict[str, Any]) -> dict[str, Any]:
    return _worker_state["fn"](_worker_state["data"], params)  # type: ignore[no-any-return]


class ProcessExecutor:
    """A local process pool; the data goes to each worker once through the initializer. A worker that
    dies breaks the pool: the batch's unfinished jobs fail, and the next batch gets a fresh pool."""

    name = "process"

    def __init__(self, fn: Job, data: Any, workers: int) -> None:
        self.fn, self.data, self.workers = fn, data, workers
        t = time.perf_counter()
        self._pool = self._new_pool()
        self.startup_s = time.perf_counter() - t

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, initializer=_init_worker, initargs=(self.fn, self.data))

    def run(self, jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any] | BaseException]:
        futures = [self._pool.submit(_call, j) for j in jobs]
        out: list[dict[str, Any] | BaseException] = []
        broken = False
        for f in futures:
            try:
                out.append(f.result())
            except BrokenProcessPool as exc:
                broken = True
                out.append(exc)
            except Exception as exc:
                out.append(exc)
        if broken:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def _ray_call(fn: Job, data: Any, params: dict[str, Any]) -> dict[str, Any]:
    return fn(data, params)


class RayExecutor:
    """Trials as Ray tasks (one CPU each, no automatic retry: a failed task is the study's to retry);
    the data is put into the object store once. `address`: None starts a local Ray with `workers`
    CPUs, "auto" or host:port joins a running cluster. An already initialised Ray is reused."""

    name = "ray"

    def __init__(self, fn: Job, data: Any, workers: int, address: str | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise UserError("--executor ray needs the [scale] extra: pip install 'trading-ai[scale]'") from None
        self._ray = ray
        self.fn, self.workers = fn, workers
        t = time.perf_counter()
        self._owned = not ray.is_initialized()
        if self._owned:
            kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
            if address:
                ray.init(address=address, **kw)
            else:
                ray.init(num_cpus=workers, **kw)
        self.startup_s = time.perf_counter() - t
        self._data = ray.put(data)
        self._fn = ray.put(fn)
        self._task = ray.remote(num_cpus=1, max_retries=0)(_ray_call)

    def run(self, jobs: Sequence[dict[str, Any]]) -> list[dict[str, Any] | BaseException]:
        refs = [self._task.remote(self._fn, self._data, j) for j in jobs]
        out: list[dict[str, Any] | BaseException] = []
        for r in refs:
            try:
                out.append(self._ray.get(r))
            except Exception as exc:  # RayTaskError, WorkerCrashedError, ...
                out.append(exc)
        return out

    def close(self) -> None:
        if self._owned:
            self._ray.shutdown()


def _one_period(cfg_costs: Any, job: dict[str, Any]) -> Any:
    from services.backtest import run_walk_forward

    cfg, costs = cfg_costs
    return run_walk_forward([job["period"]], cfg, costs, job["seed"], workers=1)[0]


def run_walk_forward_on(
    kind: str, periods: Sequence[Any], cfg: Any, costs: Any, seed: int, workers: int, address: str | None = None
) -> list[Any]:
    """`trading-ai backtest --walk-forward --executor KIND`: the process pool is the service's own
    (services.backtest.run_walk_forward); on Ray each period is one task running that same service on
    its one period (its seed comes from the run seed and the period's index), so the results are the
    same on either executor."""
    from services.backtest import run_walk_forward

    if kind != "ray":
        return run_walk_forward(periods, cfg, costs, seed, workers)
    ex = RayExecutor(_one_period, (cfg, costs), workers, address)
    try:
        out = ex.run([{"period": p, "seed": seed} for p in periods])
    finally:
        ex.close()
    for r in out:
        if isinstance(r, BaseException):
            raise r
    return out


def make_executor(kind: str, fn: Job, data: Any, workers: int, address: str | None = None) -> TrialExecutor:
    if kind not in EXECUTORS:
        raise UserError(f"--executor {kind!r}: expected one of {', '.join(EXECUTORS)}")
    if not 1 <= workers <= 256:
        raise UserError(f"--workers {workers}: expected 1 to 256")
    if kind == "ray":
        return RayExecutor(fn, data, workers, address)
    if workers == 1:
        return SerialExecutor(fn, data)
    return ProcessExecutor(fn, data, workers)
