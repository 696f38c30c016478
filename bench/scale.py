"""Benchmark: the same 8-trial `trading-ai tune` study serial, on 2 local processes and on 2 Ray workers.

Workload: real Binance 1h candles of BTC, ETH and BNB /USDT from ../shared/data (3 x 43,803 bars), the
momentum baseline's probabilities, fixed costs (6 bps spread, 2 bps slippage), the default tuning
config (4 validation folds + the test block, the default search space, batches of 4 trials). Each
trial is the product's walk-forward over the 4 validation folds plus the FTMO challenge replay.

Timed: `composition.tuning.study.optimize` for 8 trials (ask, run on the executor, tell; SQLite
storage in a temp dir), each executor on a fresh study with the same seed, `--repeats` rounds (default
2) with the executors in rotated order, best round per executor (the neighbours' load moves). Printed apart and not in
the ratio: the one-off warm-up in this process (numba compiles the engine), Ray's start-up
(`ray.init` with num_cpus=2 and the object-store put) and its workers' first batch (each Ray worker
is a fresh process: it imports the engine and compiles it; the process pool forks from this warm
process and needs neither). Speed-up = serial time / parallel time (target >= 1.7x on 2 cores). The
three runs must give the same trials (parameters and values); the bench exits 1 when they do not.

The machine may be shared: the figures are what this run measured, printed as measured.
Run from the repository root: `python bench/scale.py [--trials N] [--workers W] [--repeats R]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _data() -> Any:
    import attrs

    from composition.config import load_config
    from composition.model_choice import baseline_model, engine_config, load_pairs
    from composition.settings import kernel_settings
    from composition.tuning.objective import build_tune_data
    from domain.execution_costs import FixedCostModel
    from domain.market import Timeframe

    config = load_config(env_file="/dev/null")
    config = attrs.evolve(config, data=attrs.evolve(config.data, timeframe="1h"))
    model = baseline_model("bench")
    pairs = load_pairs(config, Timeframe.H1, model)
    cfg = engine_config(kernel_settings(config), model)
    return config, build_tune_data(config, pairs, model.names, cfg.lookback_bars, FixedCostModel(6.0, 2.0))


def _study(tmp: Path, name: str, seed: int) -> Any:
    from composition.tuning.study import open_study

    return open_study(f"sqlite:///{tmp / (name + '.db')}", name, False, seed)


def _trials(study: Any) -> list[tuple[Any, ...]]:
    return [(tuple(sorted(t.params.items())), tuple(t.values)) for t in study.trials if t.values]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2, help="rounds, executors in rotated order; best of")
    a = ap.parse_args(argv)
    from composition.tuning.executors import make_executor
    from composition.tuning.objective import trial_job
    from composition.tuning.study import optimize
    from services.tuning import parse_space

    t = time.perf_counter()
    config, data = _data()
    print(
        f"candles + predictions: {time.perf_counter() - t:.1f} s; "
        f"{sum(len(p.bars) for f in data.folds for p in f.pairs)} validation bars in {len(data.folds)} folds"
    )
    space = parse_space(config.tuning.space)
    t = time.perf_counter()
    trial_job(data, {})  # numba compiles the engine in this process
    print(f"warm-up (JIT, this process): {time.perf_counter() - t:.1f} s (excluded)")
    kw = {"seed": config.seed, "batch": config.tuning.batch, "retries": 0}
    runs: dict[str, tuple[float, list[Any]]] = {}
    execs: dict[str, Any] = {}
    try:
        for kind, workers in (("process", 1), ("process", a.workers), ("ray", a.workers)):
            label = "serial" if workers == 1 else f"{kind} x{workers}"
            ex = execs[label] = make_executor(kind, trial_job, data, workers)
            t = time.perf_counter()
            ex.run([{} for _ in range(workers)])  # each worker's first job: imports + JIT where not forked warm
            if kind == "ray":
                print(
                    f"ray start-up: {ex.startup_s:.1f} s (ray.init); workers' first batch "
                    f"{time.perf_counter() - t:.1f} s (import + JIT per worker); both excluded"
                )
        with tempfile.TemporaryDirectory() as d:
            order = list(execs)
            for rep in range(a.repeats):  # rotated order, best of: the neighbours' load moves
                for label in order[rep % len(order) :] + order[: rep % len(order)]:
                    study = _study(Path(d), f"{label.replace(' ', '')}-{rep}", config.seed)
                    t = time.perf_counter()
                    optimize(study, space, execs[label], a.trials, **kw)
                    wall = time.perf_counter() - t
                    print(
                        f"{label} (round {rep + 1}): {a.trials} trials in {wall:.1f} s "
                        f"({wall / a.trials:.2f} s per trial)"
                    )
                    if label not in runs or wall < runs[label][0]:
                        runs[label] = (wall, _trials(study))
                    elif _trials(study) != runs[label][1]:
                        runs[label] = (runs[label][0], [])  # a repeat gave other trials: flagged below
    finally:
        for ex in execs.values():
            ex.close()
    base_wall, base_trials = runs["serial"]
    same = all(tr == base_trials for _w, tr in runs.values())
    for label, (wall, _tr) in runs.items():
        if label != "serial":
            print(f"RESULT scale {label}: speed-up {base_wall / wall:.2f}x vs serial (target >= 1.7x on 2 cores)")
    print(f"RESULT scale same trials on every executor: {'yes' if same else 'NO'}")
    print(
        f"cpus visible: {os.cpu_count()}; load average {os.getloadavg()[0]:.1f} (a shared machine slows "
        "the parallel runs most)"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
