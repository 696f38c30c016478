"""ModelRegistry contract, run against the mock and `training.model_registry_adapter.FileModelRegistryAdapter`
(registry.json files in a tmp dir). Factories get tmp_path and return an empty registry. The artefacts
the records name are real files (the file registry links `promoted/` to them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.mocks.model_registry import InMemoryModelRegistry
from domain.deployment import ModelRecord
from ports.errors import DuplicateRecord, UnknownModel
from ports.model_registry import ModelRegistry
from training.model_registry_adapter import FileModelRegistryAdapter

REGISTRIES: list[Any] = [
    pytest.param(lambda tmp_path: InMemoryModelRegistry(), id="mock"),
    pytest.param(lambda tmp_path: FileModelRegistryAdapter(tmp_path / "models"), id="file-registry"),
    # the same, with the training pipeline's bundle registry shown under a name of its own
    pytest.param(
        lambda tmp_path: FileModelRegistryAdapter(tmp_path / "models", bundle_name="bundle"),
        id="file-registry-with-bundles",
    ),
]


@pytest.fixture(params=REGISTRIES)
def reg(request: pytest.FixtureRequest, tmp_path: Path) -> ModelRegistry:
    factory: Callable[[Path], ModelRegistry] = request.param
    return factory(tmp_path)


def _artefacts(tmp_path: Path) -> dict[str, str]:
    d = tmp_path / "artefacts"
    d.mkdir()
    out = {}
    for key in ("a", "b", "c", "t", "other"):
        (d / f"{key}.pt").write_bytes(f"weights {key}".encode())
        out[key] = str(d / f"{key}.pt")
    return out


def test_register_get_list_promote(reg: ModelRegistry, tmp_path: Path) -> None:
    f = _artefacts(tmp_path)
    assert isinstance(reg, ModelRegistry)
    assert reg.records() == [] and reg.production("lstm") is None
    a = ModelRecord("lstm", "v1", f["a"], 10, (("brier", 0.21),))
    b = ModelRecord("lstm", "v2", f["b"], 20)
    t = ModelRecord("transformer", "v1", f["t"], 5)
    for r in (b, a, t):
        reg.register(r)
    reg.register(a)  # identical: no-op
    with pytest.raises(DuplicateRecord):
        reg.register(ModelRecord("lstm", "v1", f["other"], 10))
    with pytest.raises(DuplicateRecord):
        reg.register(ModelRecord("lstm", "v1", f["a"], 10, (("brier", 0.25),)))
    assert reg.get("lstm", "v1") == a and reg.get("lstm", "v2") == b and reg.get("transformer", "v1") == t
    with pytest.raises(UnknownModel):
        reg.get("lstm", "v9")
    with pytest.raises(UnknownModel):
        reg.get("rl", "v1")
    assert [(m.name, m.version) for m in reg.records()] == [("transformer", "v1"), ("lstm", "v1"), ("lstm", "v2")]
    assert [m.version for m in reg.records("lstm")] == ["v1", "v2"]
    assert reg.records("rl") == []
    assert reg.production("lstm") is None
    assert reg.promote("lstm", "v1") == attrs.evolve(a, stage="production")
    reg.promote("lstm", "v2")
    prod = reg.production("lstm")
    assert prod == attrs.evolve(b, stage="production")
    assert reg.get("lstm", "v1").stage == "archived"
    assert [m.stage for m in reg.records("lstm")] == ["archived", "production"]
    assert reg.production("transformer") is None and reg.get("transformer", "v1").stage == "candidate"
    reg.promote("lstm", "v1")  # back to v1 (a rollback): still a single production record
    assert [m.stage for m in reg.records("lstm")] == ["production", "archived"]
    assert reg.promote("lstm", "v1").stage == "production"  # promoting the production one again changes nothing
    assert [m.stage for m in reg.records("lstm")] == ["production", "archived"]
    with pytest.raises(UnknownModel):
        reg.promote("lstm", "v9")


def test_ties_on_created_at_are_ordered_by_version(reg: ModelRegistry, tmp_path: Path) -> None:
    f = _artefacts(tmp_path)
    for version, key in (("v3", "c"), ("v1", "a"), ("v2", "b")):
        reg.register(ModelRecord("lstm", version, f[key], 100))
    reg.register(ModelRecord("lstm", "v0", f["t"], 200))
    assert [m.version for m in reg.records("lstm")] == ["v1", "v2", "v3", "v0"]
