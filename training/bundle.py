"""Turn a run's trained networks into registry files and a registry entry (a tagged bundle)."""

from __future__ import annotations

import math
from typing import Any

from training.bundle_roles import bundle_roles, common_meta
from training.pipeline import RunResult, TrainSettings
from training.registry import FileModelRegistry, serialise_model

GATED_MODELS = ("lstm", "transformer", "ensemble")


def _clean(x: Any) -> Any:
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return None
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def summary_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """Headline test figures per pair and model of the final fold (what `models list` shows)."""
    out: dict[str, Any] = {}
    for pair, d in report["final"]["pairs"].items():
        for name, e in d["models"].items():
            t = e.get("test_calibrated", e["test"])
            out[f"{name}:{pair}"] = {
                "test_accuracy": e["test"]["accuracy"],
                "test_auc": e["test"]["auc"],
                "val_accuracy": e["val"]["accuracy"],
                "test_ece_calibrated": t["ece"],
            }
    cleaned: dict[str, Any] = _clean(out)
    return cleaned


def save_bundle(
    registry: FileModelRegistry, result: RunResult, settings: TrainSettings, run_id: str, timeframe: str
) -> str:
    arts, report = result.artifacts, result.report
    common = common_meta(
        settings.seq_len,
        report["horizon_bars"],
        timeframe,
        arts.feature_names,
        settings.feature_params,
        settings.thresholds,
    )
    roles = bundle_roles(
        arts.lstm,
        arts.transformer,
        arts.standardisers,
        arts.calibration,
        arts.symbol_ids,
        arts.reference_sample,
        common,
    )
    files: dict[str, dict[str, Any]] = {}
    for role, (net, meta) in roles.items():
        if role.startswith("lstm:"):
            pair = role.split(":", 1)[1]
            params = {"epochs": arts.fits[role].best_epoch + 1, "hidden": net.hparams["hidden"]}
            files[role] = registry.write_model(
                "lstm", pair.split("/")[0], serialise_model(net.state_dict(), meta), params
            )
        else:
            params = {"epochs": arts.fits["transformer"].best_epoch + 1, "d": net.hparams["d_model"]}
            files[role] = registry.write_model("transformer", "multi", serialise_model(net.state_dict(), meta), params)
    final = report["final"]
    gates: dict[str, Any] = {}
    failures: list[dict[str, str]] = []
    passed = True
    for pair, d in final["pairs"].items():
        for name in GATED_MODELS:
            gates[f"{name}:{pair}"] = d["models"][name]["gates"]
            for g in d["models"][name]["gates"]:
                # the bundle is promotable when the ensemble the runtime uses passes every gate for every coin
                if not g["passed"] and name == "ensemble":
                    passed = False
                    failures.append({"role": f"{name}:{pair}", "name": g["name"], "reason": g["reason"]})
    ranges = {p: d["split"] for p, d in final["pairs"].items()}
    return registry.register(
        files,
        metrics=summary_metrics(report),
        gates=_clean(gates),
        gates_passed=passed,
        data_range=_clean(ranges),
        run_id=run_id,
        extra={
            "gate_failures": failures,
            "profile": report["profile"],
            "timeframe": timeframe,
            "pairs": report["pairs"],
        },
    )
