"""Train, then record: registry files + entry, runs/index.csv row, report.json. Used by the CLI and demo."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from domain.execution_costs import CostModel
from domain.market import Candles, Timeframe
from training.bundle import save_bundle
from training.experiments import new_run_id, record_run
from training.pipeline import RunResult, TrainSettings, run_training
from training.registry import FileModelRegistry


@attrs.frozen
class TrainOutcome:
    tag: str
    run_id: str
    report: dict[str, Any]
    report_path: Path
    gates_passed: bool


def train_and_record(
    candles: Mapping[str, Candles],
    settings: TrainSettings,
    models_dir: str | Path,
    runs_dir: str | Path,
    *,
    higher: Mapping[str, Mapping[Timeframe, Candles]] | None = None,
    cost_model: CostModel | None = None,
    resume: bool = False,
    progress: Any = None,
    log: Callable[[str], None] = lambda _m: None,
    run_id: str | None = None,
    augment: Any = None,
    members: Any = None,
) -> TrainOutcome:
    run_id = run_id or new_run_id()
    # checkpoints live per profile (not per run) so `--resume` after an interruption finds them
    ckpt = Path(runs_dir) / "checkpoints" / settings.profile
    result: RunResult = run_training(
        candles,
        settings,
        higher=higher,
        cost_model=cost_model,
        checkpoint_dir=ckpt,
        resume=resume,
        progress=progress,
        log=log,
        augment=augment,
        members=members,
    )
    tf = next(iter(candles.values())).timeframe.value
    registry = FileModelRegistry(models_dir)
    tag = save_bundle(registry, result, settings, run_id, tf)
    path = record_run(runs_dir, run_id, result.report, tag)
    report = {**result.report, "run_id": run_id, "tag": tag}
    return TrainOutcome(tag, run_id, report, path, bool(registry.entry(tag)["gates_passed"]))
