"""ModelRegistry contract. Factories get tmp_path and return an empty registry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.model_registry import InMemoryModelRegistry
from domain.deployment import ModelRecord
from ports.errors import DuplicateRecord, UnknownModel
from ports.model_registry import ModelRegistry

REGISTRIES: list[Any] = [pytest.param(lambda tmp_path: InMemoryModelRegistry(), id="mock")]


@pytest.fixture(params=REGISTRIES)
def reg(request: pytest.FixtureRequest, tmp_path: Path) -> ModelRegistry:
    factory: Callable[[Path], ModelRegistry] = request.param
    return factory(tmp_path)


def test_register_get_list_promote(reg: ModelRegistry) -> None:
    assert isinstance(reg, ModelRegistry)
    a = ModelRecord("lstm", "v1", "/m/a", 10, (("brier", 0.21),))
    b = ModelRecord("lstm", "v2", "/m/b", 20)
    t = ModelRecord("transformer", "v1", "/m/t", 5)
    for r in (b, a, t):
        reg.register(r)
    reg.register(a)  # identical: no-op
    with pytest.raises(DuplicateRecord):
        reg.register(ModelRecord("lstm", "v1", "/other", 10))
    assert reg.get("lstm", "v1") == a
    with pytest.raises(UnknownModel):
        reg.get("lstm", "v9")
    assert [(m.name, m.version) for m in reg.records()] == [("transformer", "v1"), ("lstm", "v1"), ("lstm", "v2")]
    assert [m.version for m in reg.records("lstm")] == ["v1", "v2"]
    assert reg.production("lstm") is None
    assert reg.promote("lstm", "v1").stage == "production"
    reg.promote("lstm", "v2")
    prod = reg.production("lstm")
    assert prod is not None and prod.version == "v2"
    assert reg.get("lstm", "v1").stage == "archived"
