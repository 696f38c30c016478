"""`ports.model_registry.ModelRegistry` over the on-disk registry of `training.registry.FileModelRegistry`.

Mapping (design decisions, forced by the file registry having one "current" bundle per directory):
- **One file registry per model name.** Name `n` lives in `root/n/` (its own `registry.json`, semver-
  or-any tags, `promoted/` symlinks, history); the port's "one production record per name" is that
  directory's `current`. Names are single path components (letters, digits, `_ . -`; not `promoted`).
- Optionally the training pipeline's own bundle registry (`root/registry.json`, written by
  `trading-ai train`) is shown under `bundle_name`: version = the bundle's tag, path = `root` (what
  `training.predictor.load_predictors(path, tag=version)` loads), created_at_ms from its `created_at`,
  metrics = its numeric headline figures flattened to `"role:metric"` keys. Bundles are registered
  only by training (their files carry the network metadata the runtime needs): `register` under
  `bundle_name` is refused with a `UserError`.
- **version = tag.** A record registered through the port becomes an entry whose single file (role =
  the name) is `record.path` as given (absolute, or relative to `root/name`), with `sha256` of the file
  when it exists; its exact fields are kept under the entry's `record` key so `get` returns what was
  registered.
- **stage is derived, never stored:** the directory's `current` tag is "production", a tag that was
  promoted before (it is in the history) is "archived", any other is a "candidate". So a rollback done
  with `trading-ai models rollback` shows here too. `register` takes candidates only (ValueError
  otherwise); re-registering a promoted record's candidate form is a `DuplicateRecord`, as in the mock.
- **promote = FileModelRegistry.promote:** relinks `promoted/`, appends the history and writes the
  optional `DeploymentRepository`. It refuses (UserError) a record whose file is missing, since the
  link must point at something. Records registered through the port carry no gate verdict
  (`gates_passed` false, one "not evaluated" failure), so promoting one is recorded as an override
  (`forced`), which keeps live mode's "never passed its gates" refusal truthful. A training bundle
  that failed its gates is refused (`training.registry.PromotionRefused`), as with `models promote`
  without `--force`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from domain.deployment import ModelRecord
from domain.errors import UserError
from ports.errors import DuplicateRecord, UnknownModel
from ports.storage import DeploymentRepository
from training.registry import FileModelRegistry

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_PORT_REASON = "promoted through the ModelRegistry port"


def _iso_ms(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).timestamp() * 1000)


def _flat_metrics(metrics: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    out: list[tuple[str, float]] = []
    for key, v in metrics.items():
        items = v.items() if isinstance(v, dict) else [("", v)]
        for sub, x in items:
            if isinstance(x, (int, float)) and not isinstance(x, bool):
                out.append((f"{key}:{sub}" if sub else key, float(x)))
    return tuple(sorted(out))


class FileModelRegistryAdapter:
    """A `ModelRegistry` whose state is `FileModelRegistry` JSON under `root` (see the module doc)."""

    def __init__(
        self,
        root: str | Path,
        *,
        bundle_name: str | None = None,
        deployments: DeploymentRepository | None = None,
        now_ms: Callable[[], int] | None = None,
    ) -> None:
        self.root = Path(root)
        self.bundle_name = bundle_name
        self.deployments = deployments
        self._now_ms = now_ms

    # ---- where a name lives
    def _valid(self, name: str) -> bool:
        return name == self.bundle_name or (_NAME.fullmatch(name) is not None and name != "promoted")

    def _files(self, name: str) -> FileModelRegistry:
        return FileModelRegistry(self.root if name == self.bundle_name else self.root / name)

    def _names(self) -> list[str]:
        names = (
            [
                d.name
                for d in self.root.iterdir()
                if d.is_dir() and self._valid(d.name) and (d / "registry.json").is_file()
            ]
            if self.root.is_dir()
            else []
        )
        if self.bundle_name is not None and (self.root / "registry.json").is_file():
            names.append(self.bundle_name)
        return names

    # ---- JSON entry -> ModelRecord
    def _record(self, name: str, files: FileModelRegistry, reg: dict[str, Any], tag: str) -> ModelRecord:
        entry = reg["tags"][tag]
        if reg.get("current") == tag:
            stage = "production"
        elif any(h.get("tag") == tag for h in reg.get("history", [])):
            stage = "archived"
        else:
            stage = "candidate"
        own = entry.get("record")
        if own is not None:
            metrics = tuple((str(k), float(v)) for k, v in own["metrics"])
            return ModelRecord(name, tag, str(own["path"]), int(own["created_at_ms"]), metrics, stage)
        return ModelRecord(
            name, tag, str(files.dir), _iso_ms(entry["created_at"]), _flat_metrics(entry.get("metrics", {})), stage
        )

    def _lookup(self, name: str, version: str) -> tuple[FileModelRegistry, dict[str, Any]]:
        if self._valid(name):
            files = self._files(name)
            reg = files.load()
            if version in reg["tags"]:
                return files, reg
        known = ", ".join(self._names()) or "none registered yet"
        raise UnknownModel(f"no model {name} version {version} in {self.root} (names: {known})")

    # ---- the port
    def register(self, record: ModelRecord) -> None:
        name = record.name
        if not self._valid(name):
            raise UserError(f"model name {name!r} must be one path component of letters, digits, '_', '.', '-'")
        if name == self.bundle_name:
            raise UserError(
                f"{name!r} bundles are registered by `trading-ai train`, not through the ModelRegistry port"
            )
        files = self._files(name)
        reg = files.load()
        if record.version in reg["tags"]:
            if self._record(name, files, reg, record.version) != record:
                raise DuplicateRecord(f"model {name} {record.version} is already registered differently")
            return
        if record.stage != "candidate":
            raise ValueError(f"register a candidate and promote it; stage {record.stage!r} is the registry's to set")
        artefact = Path(record.path) if Path(record.path).is_absolute() else files.dir / record.path
        digest = hashlib.sha256(artefact.read_bytes()).hexdigest() if artefact.is_file() else None
        files.register(
            {name: {"file": record.path, "sha256": digest, "params": {}}},
            metrics=dict(record.metrics),
            gates={},
            gates_passed=False,
            data_range={},
            run_id="",
            tag=record.version,
            created_ms=max(1, record.created_at_ms),  # 0 would read as "now" there
            extra={
                "record": {
                    "path": record.path,
                    "created_at_ms": record.created_at_ms,
                    "metrics": [list(m) for m in record.metrics],
                },
                "gate_failures": [
                    {"role": name, "name": "not evaluated", "reason": "registered through the ModelRegistry port"}
                ],
            },
        )

    def get(self, name: str, version: str) -> ModelRecord:
        files, reg = self._lookup(name, version)
        return self._record(name, files, reg, version)

    def records(self, name: str | None = None) -> list[ModelRecord]:
        names = self._names() if name is None else ([name] if self._valid(name) else [])
        out: list[ModelRecord] = []
        for n in names:
            files = self._files(n)
            reg = files.load()
            out.extend(self._record(n, files, reg, tag) for tag in reg["tags"])
        return sorted(out, key=lambda m: (m.created_at_ms, m.version))

    def promote(self, name: str, version: str) -> ModelRecord:
        files, reg = self._lookup(name, version)
        forced = "record" in reg["tags"][version]  # no gates were ever evaluated for it
        files.promote(
            version, _PORT_REASON, self.deployments, force=forced, now_ms=self._now_ms() if self._now_ms else None
        )
        return self.get(name, version)

    def production(self, name: str) -> ModelRecord | None:
        if not self._valid(name):
            return None
        files = self._files(name)
        reg = files.load()
        current = reg.get("current")
        return self._record(name, files, reg, str(current)) if current in reg["tags"] else None
