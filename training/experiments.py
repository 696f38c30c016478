"""Experiment index: one CSV row per (run, fold, pair, model) in runs/index.csv, the full report as
runs/<run_id>/report.json, and TensorBoard scalars when tensorboard is installed (it is optional)."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

COLUMNS = (
    "run_id",
    "created_at",
    "profile",
    "timeframe",
    "fold",
    "pair",
    "model",
    "val_accuracy",
    "val_auc",
    "test_accuracy",
    "test_auc",
    "test_brier",
    "test_ece",
    "test_ece_calibrated",
    "calibration",
    "emitted_precision",
    "emitted_coverage",
    "net_bps",
    "gates_passed",
    "tag",
    "seconds",
)


def new_run_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)
    return now.strftime("%Y%m%dT%H%M%SZ")


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return ""
    return f"{x:.6g}" if isinstance(x, float) else str(x)


def rows_of(report: dict[str, Any], run_id: str, tag: str) -> list[dict[str, str]]:
    rows = []
    for fold in report["folds"]:
        for pair, d in fold["pairs"].items():
            for name, e in d["models"].items():
                cal = e.get("test_calibrated", {})
                emitted: dict[str, Any] = {}
                if "gates" in e:
                    emitted = next((g for g in e["gates"] if g["name"] == "precision"), {})
                tiers = cal.get("tiers", e["test"]["tiers"])
                cov = sum(v["coverage"] for k, v in tiers.items() if k != "NONE")
                rows.append(
                    {
                        "run_id": run_id,
                        "created_at": run_id,
                        "profile": report["profile"],
                        "timeframe": report["timeframe"],
                        "fold": str(fold["fold"]),
                        "pair": pair,
                        "model": name,
                        "val_accuracy": _num(e["val"]["accuracy"]),
                        "val_auc": _num(e["val"]["auc"]),
                        "test_accuracy": _num(e["test"]["accuracy"]),
                        "test_auc": _num(e["test"]["auc"]),
                        "test_brier": _num(e["test"]["brier"]),
                        "test_ece": _num(e["test"]["ece"]),
                        "test_ece_calibrated": _num(cal.get("ece")),
                        "calibration": e.get("calibration", {}).get("kind", ""),
                        "emitted_precision": _num(emitted.get("value")),
                        "emitted_coverage": _num(cov if cal else None),
                        "net_bps": _num(e.get("expectancy_test", {}).get("net_bps")),
                        "gates_passed": str(e.get("gates_passed", "")),
                        "tag": tag,
                        "seconds": _num(report["seconds"]),
                    }
                )
    return rows


def record_run(runs_dir: str | Path, run_id: str, report: dict[str, Any], tag: str) -> Path:
    runs = Path(runs_dir)
    (runs / run_id).mkdir(parents=True, exist_ok=True)
    out = runs / run_id / "report.json"
    out.write_text(json.dumps({**report, "run_id": run_id, "tag": tag}, indent=1, allow_nan=True), encoding="utf-8")
    index = runs / "index.csv"
    new = not index.is_file()
    with index.open("a", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        if new:
            w.writeheader()
        w.writerows(rows_of(report, run_id, tag))
    _tensorboard(runs / run_id, report)
    return out


def _tensorboard(path: Path, report: dict[str, Any]) -> bool:
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional; the CSV index is always written
        return False
    writer = SummaryWriter(log_dir=str(path / "tb"))
    for fold in report["folds"]:
        for name, fit in fold["fits"].items():
            for h in fit["history"]:
                writer.add_scalars(
                    f"fold{fold['fold']}/{name}", {"train": h["train_loss"], "val": h["val_loss"]}, h["epoch"]
                )
    writer.close()
    return True


def latest_report(runs_dir: str | Path, run_id: str | None = None) -> dict[str, Any] | None:
    runs = Path(runs_dir)
    if run_id:
        p = runs / run_id / "report.json"
        return json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None
    reports = sorted(runs.glob("*/report.json"))
    return json.loads(reports[-1].read_text(encoding="utf-8")) if reports else None
