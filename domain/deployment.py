"""Model registry and deployment records."""

from __future__ import annotations

import attrs


@attrs.frozen
class ModelRecord:
    """A trained model artefact known to the registry. `metrics` is a sorted tuple of (name, value)."""

    name: str
    version: str
    path: str
    created_at_ms: int
    metrics: tuple[tuple[str, float], ...] = ()
    stage: str = "candidate"  # candidate | production | archived

    def metric(self, key: str) -> float | None:
        return dict(self.metrics).get(key)


@attrs.frozen
class Deployment:
    """One deployment of a model version; `rollback_reason` set when it was rolled back."""

    version: str
    model_path: str
    deployed_at_ms: int
    metrics_json: str = "{}"
    rollback_reason: str | None = None
