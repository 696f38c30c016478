"""The RL agents' registry: `<models_dir>/rl/registry.json` and one tensor file per seed's policy.

Each trained run is an entry (run id -> settings, fold, feature names, per-pair standardisers, seeds
with their curves and policy files, the selected seed, the gate verdict, enabled). Policy files are a
`torch.save` dict of tensors plus a JSON string, loaded with `weights_only=True` (no pickle of
arbitrary objects). `current` names the run the plugin serves, and only while it is enabled: an
agent that failed its gate stays registered but disabled, so the runtime keeps its fallback weights.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

from domain.confidence import WITH_RL
from domain.errors import UserError

PLAN_ORDER = frozenset(("lstm", "transformer", "rl", "sentiment"))


class NoAgent(UserError):
    """No RL agent has been trained into this registry yet."""


def ensemble_weights_text() -> str:
    """The plan's weights with the RL member (30/35/25/10), as ENSEMBLE_WEIGHTS would spell them."""
    w = WITH_RL.as_dict()
    names = [n for n in ("lstm", "transformer", "rl", "sentiment") if n in w] + sorted(set(w) - PLAN_ORDER)
    return ",".join(f"{n}={w[n]:g}" for n in names)


class AgentStore:
    def __init__(self, models_dir: str | Path) -> None:
        self.dir = Path(models_dir) / "rl"
        self.path = self.dir / "registry.json"

    def load(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {"runs": {}, "current": None}
        reg: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        return reg

    def _save(self, reg: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(reg, indent=2, sort_keys=True, allow_nan=True), encoding="utf-8")
        tmp.replace(self.path)

    def write_policy(self, state: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, str]:
        buf = io.BytesIO()
        torch.save({"state_dict": state, "meta_json": json.dumps(meta, sort_keys=True)}, buf)
        blob = buf.getvalue()
        digest = hashlib.sha256(blob).hexdigest()
        name = f"rl_policy_{digest[:8]}_seed{meta['seed']}.pt"
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / name).is_file():
            (self.dir / name).write_bytes(blob)
        return {"file": name, "sha256": digest}

    def read_policy(self, name: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        blob = torch.load(self.dir / name, map_location="cpu", weights_only=True)
        return blob["state_dict"], json.loads(blob["meta_json"])

    def add_run(self, entry: dict[str, Any]) -> str:
        reg = self.load()
        run_id = f"rl-{len(reg['runs']) + 1:03d}"
        reg["runs"][run_id] = {
            **entry,
            "run_id": run_id,
            "verdict": None,
            "enabled": False,
            "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        reg["current"] = run_id
        self._save(reg)
        return run_id

    def run(self, run_id: str | None = None) -> dict[str, Any]:
        reg = self.load()
        rid = run_id or reg.get("current")
        if rid is None:
            raise NoAgent(f"no RL agent trained in {self.dir}; run `trading-ai rl train [--quick]` first")
        if rid not in reg["runs"]:
            raise NoAgent(f"unknown RL run {rid!r}; known: {', '.join(sorted(reg['runs'])) or 'none'}")
        return dict(reg["runs"][rid])

    def record_verdict(self, run_id: str, verdict: dict[str, Any], report_path: str | None) -> None:
        """PASS enables the agent and makes the 30/35/25/10 weights available (not applied: the
        operator sets ENSEMBLE_WEIGHTS); FAIL keeps it registered but disabled."""
        reg = self.load()
        e = reg["runs"][run_id]
        e["verdict"] = verdict
        e["enabled"] = bool(verdict["passed"])
        e["weights_available"] = ensemble_weights_text() if verdict["passed"] else None
        e["failure_report"] = report_path
        self._save(reg)

    def served(self) -> dict[str, Any] | None:
        """The current run if it passed its gate and is enabled, else None."""
        reg = self.load()
        rid = reg.get("current")
        if rid is None:
            return None
        e = reg["runs"].get(rid)
        return dict(e) if e and e.get("enabled") and (e.get("verdict") or {}).get("passed") else None
