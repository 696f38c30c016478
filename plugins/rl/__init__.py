"""The RL agent plugin (`pip install -e .[rl]`): a PPO agent trained on the real candles' feature
windows that may join the ensemble as the member "rl" only after passing its out-of-sample gate.

Entry point: `[project.entry-points."trading_ai.plugins"] rl = "plugins.rl"`. This module stays light
(the runtime imports it at boot): torch, gymnasium and stable-baselines3 load only when the hook
finds a trained agent. Without the extra installed, importing it raises ImportError, which the
plugin host lists as "not installed".

`trading_ai_predictors(settings)` returns the current agent of `<training.models_dir>/rl/` with
`gates_passed` set from its gate verdict (PASS only): an agent that failed stays registered and is
returned disabled (`gates_passed = False`), so the host leaves it out and the fallback weights stay.
No trained agent: no predictor. See docs/rl.md.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from plugins.hookspecs import hookimpl

__version__ = "0.1.0"

_missing = [m for m in ("gymnasium", "stable_baselines3") if importlib.util.find_spec(m) is None]
if _missing:
    raise ImportError(f"the rl plugin needs {', '.join(_missing)}: pip install -e .[rl]")


def models_dir_of(settings: Mapping[str, Any]) -> Path | None:
    """`training.models_dir` of the effective config mapping (or a top-level `models_dir`)."""
    training = settings.get("training")
    if isinstance(training, Mapping) and training.get("models_dir"):
        return Path(str(training["models_dir"]))
    if settings.get("models_dir"):
        return Path(str(settings["models_dir"]))
    return None


@hookimpl
def trading_ai_predictors(settings: Mapping[str, Any]) -> list[Any]:
    models_dir = models_dir_of(settings)
    if models_dir is None or not (models_dir / "rl" / "registry.json").is_file():
        return []
    from plugins.rl.predictor import load_predictor
    from plugins.rl.store import AgentStore

    store = AgentStore(models_dir)
    reg = store.load()
    if reg.get("current") is None:
        return []
    entry = store.run()
    predictor = load_predictor(models_dir)
    verdict = entry.get("verdict") or {}
    predictor.gates_passed = bool(entry.get("enabled") and verdict.get("passed"))
    return [predictor]
