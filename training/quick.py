"""The demo's training step: the quick profile on real candles (about a minute on 2 cores)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from domain.market import Candles, Timeframe
from training.pipeline import pairs_of, quick_settings
from training.service import train_and_record


def run_quick_training(
    config: Any,
    symbols: Sequence[str],
    timeframe: str | Timeframe,
    *,
    load_candles: Callable[[str, Timeframe], Candles],
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Train the quick profile and register it (not promoted). `config` is the app Config (seed,
    training.models_dir/runs_dir/device); `load_candles(pair, timeframe)` comes from the
    market-data adapter the caller wired (training does not import adapters). Returns a summary:
    tag, run_id, report path, gates_passed and per pair/model test accuracy and AUC."""
    tf = Timeframe.parse(timeframe)
    pairs = pairs_of(symbols)
    settings = quick_settings(seed=int(config.seed), device=str(config.training.device))
    candles = {p: load_candles(p, tf) for p in pairs}
    out = train_and_record(candles, settings, config.training.models_dir, config.training.runs_dir, log=log)
    final = out.report["final"]["pairs"]
    return {
        "tag": out.tag,
        "run_id": out.run_id,
        "report_path": str(out.report_path),
        "gates_passed": out.gates_passed,
        "seconds": out.report["seconds"],
        "test": {
            p: {m: {"accuracy": e["test"]["accuracy"], "auc": e["test"]["auc"]} for m, e in d["models"].items()}
            for p, d in final.items()
        },
    }
