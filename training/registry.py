"""The model registry on disk: content-hashed model files, `registry.json`, `promoted/` symlinks.

Layout under `models_dir`:
- `lstm_btc_a3f2d1_epochs6_hidden32.pt`, `transformer_multi_9c0e4b_epochs5_d32.pt`: one file per
  network, named by the first 6 hex digits of its content's sha256 and its main parameters. Each is a
  `torch.save` dict of tensors plus a JSON string of metadata (loaded with `weights_only=True`:
  no pickle of arbitrary objects).
- `registry.json`: {"tags": {semver tag: entry}, "current": tag or null, "history": [...]}, an entry
  holding files (role -> file, sha256, params), metrics, gates, data range, created/deployed dates.
- `promoted/`: one symlink per role (`lstm_btc.pt` -> `../lstm_btc_....pt`) and `TAG` naming the tag.
Every promote and rollback is also written through a `DeploymentRepository` with its reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import time
from pathlib import Path
from typing import Any

import torch

from domain.deployment import Deployment
from domain.errors import CorruptFile, UserError
from ports.storage import DeploymentRepository


class UnknownTag(UserError):
    """No model bundle with that tag in the registry."""


class PromotionRefused(UserError):
    """The bundle failed its gates and the operator did not override."""


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).isoformat(timespec="seconds")


def _now_ms() -> int:
    return int(time.time() * 1000)


def serialise_model(state_dict: dict[str, torch.Tensor], meta: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    torch.save({"state_dict": state_dict, "meta_json": json.dumps(meta, sort_keys=True)}, buf)
    return buf.getvalue()


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_model_file(path: Path, sha256: str | None = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The network file's tensors and metadata. With `sha256` (the registry's), the file's content must
    match it: a swapped or damaged weights file is refused (CorruptFile naming it), never served."""
    if not path.is_file():
        raise CorruptFile(f"model file {path} is missing; restore it or promote another tag (`trading-ai models list`)")
    if sha256 is not None:
        got = file_sha256(path)
        if got != sha256:
            raise CorruptFile(
                f"model file {path} does not match its registry sha256 (expected {sha256[:12]}..., "
                f"found {got[:12]}...); restore it or promote another tag"
            )
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        return blob["state_dict"], json.loads(blob["meta_json"])
    except Exception as exc:  # torch raises RuntimeError/UnpicklingError/EOFError/... for a damaged file
        raise CorruptFile(f"model file {path} cannot be read ({type(exc).__name__}); restore it or retrain") from None


def _semver_key(tag: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in tag.lstrip("v").split("."))
    except ValueError:
        return (-1,)


class FileModelRegistry:
    def __init__(self, models_dir: str | Path) -> None:
        self.dir = Path(models_dir)
        self.path = self.dir / "registry.json"

    # ---- reading
    def load(self) -> dict[str, Any]:
        if not self.path.is_file():
            return {"tags": {}, "current": None, "history": []}
        try:
            reg = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise CorruptFile(
                f"model registry {self.path} is not valid JSON ({type(exc).__name__}); restore it "
                "from a backup or retrain"
            ) from None
        if not (
            isinstance(reg, dict) and isinstance(reg.get("tags"), dict) and isinstance(reg.get("history", []), list)
        ):
            raise CorruptFile(
                f"model registry {self.path} does not hold tags/current/history; restore it from a backup or retrain"
            )
        reg.setdefault("history", [])
        reg.setdefault("current", None)
        return reg

    def _save(self, reg: dict[str, Any]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(reg, indent=2, sort_keys=True, allow_nan=True), encoding="utf-8")
        tmp.replace(self.path)

    def tags(self) -> list[str]:
        return sorted(self.load()["tags"], key=_semver_key)

    def entry(self, tag: str) -> dict[str, Any]:
        reg = self.load()
        if tag not in reg["tags"]:
            valid = ", ".join(sorted(reg["tags"], key=_semver_key)) or "none registered yet"
            raise UnknownTag(f"unknown model tag {tag!r}; known tags: {valid}")
        return dict(reg["tags"][tag])

    def current(self) -> str | None:
        return self.load().get("current")

    def promoted_status(self) -> tuple[str | None, bool, bool]:
        """(promoted tag, whether it passed its gates, whether its promotion overrode failing gates).

        Live mode refuses a bundle that never passed its gates unless the operator overrides it."""
        reg = self.load()
        tag = reg.get("current")
        if tag is None:
            return None, False, False
        last: dict[str, Any] = next((h for h in reversed(reg["history"]) if h["tag"] == tag), {})
        return tag, bool(reg["tags"][tag]["gates_passed"]), bool(last.get("forced", False))

    def next_tag(self) -> str:
        tags = [t for t in self.tags() if _semver_key(t) != (-1,)]
        if not tags:
            return "v1.0.0"
        major, minor, _patch = ([*list(_semver_key(tags[-1])), 0, 0, 0])[:3]
        return f"v{major}.{minor + 1}.0"

    # ---- writing
    def write_model(self, kind: str, coin: str, blob: bytes, params: dict[str, Any]) -> dict[str, Any]:
        """Store one network file named by content hash + params; idempotent for identical content."""
        digest = hashlib.sha256(blob).hexdigest()
        suffix = "_".join(f"{k}{v}" for k, v in params.items())
        name = f"{kind}_{coin.lower()}_{digest[:6]}_{suffix}.pt"
        self.dir.mkdir(parents=True, exist_ok=True)
        path = self.dir / name
        if not path.is_file():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(blob)
            tmp.replace(path)
        return {"file": name, "sha256": digest, "params": params}

    def register(
        self,
        files: dict[str, dict[str, Any]],
        *,
        metrics: dict[str, Any],
        gates: dict[str, Any],
        gates_passed: bool,
        data_range: dict[str, Any],
        run_id: str,
        tag: str | None = None,
        created_ms: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        reg = self.load()
        tag = tag or self.next_tag()
        if tag in reg["tags"]:
            raise UserError(f"model tag {tag} already exists; pick another")
        reg["tags"][tag] = {
            "tag": tag,
            "files": files,
            "metrics": metrics,
            "gates": gates,
            "gates_passed": bool(gates_passed),
            "data_range": data_range,
            "run_id": run_id,
            "created_at": _iso(created_ms or _now_ms()),
            "deployed_at": None,
            **(extra or {}),
        }
        self._save(reg)
        return tag

    def _link(self, tag: str, entry: dict[str, Any]) -> None:
        promoted = self.dir / "promoted"
        promoted.mkdir(parents=True, exist_ok=True)
        for old in promoted.iterdir():
            if old.is_symlink() or old.name == "TAG":
                old.unlink()
        for role, f in entry["files"].items():
            link = promoted / f"{role.replace(':', '_').replace('/', '_').lower()}.pt"
            os.symlink(os.path.join("..", f["file"]), link)
        (promoted / "TAG").write_text(tag + "\n", encoding="utf-8")

    def promote(
        self,
        tag: str,
        reason: str,
        deployments: DeploymentRepository | None = None,
        *,
        force: bool = False,
        now_ms: int | None = None,
        action: str = "promote",
    ) -> dict[str, Any]:
        reg = self.load()
        entry = self.entry(tag)
        if not entry["gates_passed"] and not force:
            failed = [f"{g['role']} {g['name']}" for g in entry.get("gate_failures", [])][:6]
            raise PromotionRefused(
                f"model {tag} did not pass its gates ({'; '.join(failed) or 'see trading-ai evaluate'}); "
                "pass --force to override (logged)"
            )
        now = now_ms or _now_ms()
        for f in entry["files"].values():
            if not (self.dir / f["file"]).is_file():
                raise UserError(f"model file {f['file']} of {tag} is missing from {self.dir}")
        previous = reg.get("current")
        if action == "rollback" and previous and deployments is not None:
            try:
                deployments.mark_rolled_back(previous, reason)
            except Exception as exc:  # the audit trail may not know a version promoted before it existed
                reason = f"{reason} (previous {previous} not in deployment log: {exc})"
        self._link(tag, entry)
        reg["tags"][tag]["deployed_at"] = _iso(now)
        reg["current"] = tag
        reg["history"].append(
            {
                "action": action,
                "tag": tag,
                "previous": previous,
                "reason": reason,
                "forced": bool(force and not entry["gates_passed"]),
                "at": _iso(now),
            }
        )
        self._save(reg)
        if deployments is not None:
            summary = {
                "gates_passed": entry["gates_passed"],
                "forced": bool(force and not entry["gates_passed"]),
                "reason": reason,
                "action": action,
                "previous": previous,
            }
            deployments.record(
                Deployment(
                    version=tag,
                    model_path=str(self.dir / "promoted"),
                    deployed_at_ms=now,
                    metrics_json=json.dumps(summary, sort_keys=True),
                )
            )
        promoted: dict[str, Any] = reg["tags"][tag]
        return promoted

    def rollback(
        self,
        tag: str,
        reason: str,
        deployments: DeploymentRepository | None = None,
        *,
        force: bool = False,
        now_ms: int | None = None,
    ) -> dict[str, Any]:
        """Point `promoted/` back at an earlier tag; the current one is marked rolled back."""
        if tag == self.current():
            raise UserError(f"model {tag} is already the promoted one")
        return self.promote(tag, reason, deployments, force=force, now_ms=now_ms, action="rollback")
