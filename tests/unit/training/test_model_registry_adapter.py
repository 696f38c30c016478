"""training.model_registry_adapter: the ModelRegistry port over FileModelRegistry's JSON, beyond the
contract suite: what lands on disk, the view of training bundles, gates and missing files."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from adapters.mocks.storage import InMemoryDeployments
from domain.deployment import ModelRecord
from domain.errors import UserError
from ports.errors import UnknownModel
from training.model_registry_adapter import FileModelRegistryAdapter
from training.registry import FileModelRegistry, PromotionRefused


def _bundle(reg: FileModelRegistry, content: bytes, passed: bool, created_ms: int) -> str:
    f = reg.write_model("lstm", "BTC", content, {"epochs": 10, "hidden": 64})
    return reg.register(
        {"lstm:BTC/USDT": f},
        created_ms=created_ms,
        metrics={"ensemble:BTC/USDT": {"test_accuracy": 0.53, "test_auc": None}, "n": 7},
        gates={},
        gates_passed=passed,
        data_range={},
        run_id="r",
        extra={"gate_failures": [] if passed else [{"role": "ensemble:BTC/USDT", "name": "precision"}]},
    )


def test_port_records_are_file_registry_entries_with_links_and_an_audit_trail(tmp_path: Path) -> None:
    art = tmp_path / "lstm_a.pt"
    art.write_bytes(b"weights")
    deps = InMemoryDeployments()
    reg = FileModelRegistryAdapter(tmp_path / "models", deployments=deps, now_ms=lambda: 5_000)
    rec = ModelRecord("lstm", "v1.0.0", str(art), 1_000, (("brier", 0.2),))
    reg.register(rec)
    files = FileModelRegistry(tmp_path / "models" / "lstm")
    entry = files.entry("v1.0.0")
    assert entry["files"]["lstm"]["file"] == str(art) and len(entry["files"]["lstm"]["sha256"]) == 64
    assert entry["metrics"] == {"brier": 0.2} and entry["gates_passed"] is False
    reg.promote("lstm", "v1.0.0")
    assert files.current() == "v1.0.0"
    assert (tmp_path / "models" / "lstm" / "promoted" / "lstm.pt").read_bytes() == b"weights"
    # no gates were evaluated for a port record: its promotion is recorded as an override
    assert files.promoted_status() == ("v1.0.0", False, True)
    assert [d.version for d in deps.history()] == ["v1.0.0"] and deps.history()[0].deployed_at_ms == 5_000
    # a fresh adapter over the same directory sees the same state
    assert FileModelRegistryAdapter(tmp_path / "models").production("lstm") == ModelRecord(
        "lstm", "v1.0.0", str(art), 1_000, (("brier", 0.2),), "production"
    )


def test_relative_paths_resolve_inside_the_names_directory(tmp_path: Path) -> None:
    reg = FileModelRegistryAdapter(tmp_path)
    (tmp_path / "rl").mkdir()
    (tmp_path / "rl" / "policy.pt").write_bytes(b"p")
    reg.register(ModelRecord("rl", "v1", "policy.pt", 1))
    reg.promote("rl", "v1")
    assert os.readlink(tmp_path / "rl" / "promoted" / "rl.pt") == os.path.join("..", "policy.pt")


def test_a_missing_artefact_cannot_be_promoted(tmp_path: Path) -> None:
    reg = FileModelRegistryAdapter(tmp_path)
    reg.register(ModelRecord("lstm", "v1", str(tmp_path / "gone.pt"), 1))
    with pytest.raises(UserError, match="missing"):
        reg.promote("lstm", "v1")
    assert reg.production("lstm") is None and reg.get("lstm", "v1").stage == "candidate"


def test_training_bundles_are_shown_under_the_bundle_name(tmp_path: Path) -> None:
    files = FileModelRegistry(tmp_path)
    good = _bundle(files, b"good", True, 2_000)
    bad = _bundle(files, b"bad", False, 3_000)
    reg = FileModelRegistryAdapter(tmp_path, bundle_name="bundle", now_ms=lambda: 9_000)
    recs = reg.records("bundle")
    assert [(m.version, m.stage, m.path, m.created_at_ms) for m in recs] == [
        (good, "candidate", str(tmp_path), 2_000),
        (bad, "candidate", str(tmp_path), 3_000),
    ]
    # nested numeric headline figures, flattened; missing (None) figures left out
    assert recs[0].metrics == (("ensemble:BTC/USDT:test_accuracy", 0.53), ("n", 7.0))
    assert reg.promote("bundle", good).stage == "production"
    assert files.current() == good and files.promoted_status() == (good, True, False)
    with pytest.raises(PromotionRefused, match="precision"):
        reg.promote("bundle", bad)
    assert files.current() == good
    # a rollback done with the CLI's registry shows through the port
    files.promote(bad, "operator override", force=True, now_ms=10_000)
    files.rollback(good, "bad in dry-run", now_ms=11_000)
    assert [(m.version, m.stage) for m in reg.records("bundle")] == [(good, "production"), (bad, "archived")]
    with pytest.raises(UserError, match="trading-ai train"):
        reg.register(ModelRecord("bundle", "v9.0.0", "x.pt", 1))
    # port names live beside the bundles without disturbing them
    reg.register(ModelRecord("lstm", "v1", "x.pt", 1))
    assert {m.name for m in reg.records()} == {"bundle", "lstm"}
    assert set(json.loads((tmp_path / "registry.json").read_text())["tags"]) == {good, bad}


def test_names_must_be_one_path_component(tmp_path: Path) -> None:
    reg = FileModelRegistryAdapter(tmp_path / "models")
    for bad in ("../evil", "a/b", "promoted", ".hidden", ""):
        with pytest.raises(UserError, match="path component"):
            reg.register(ModelRecord(bad, "v1", "x.pt", 1))
        with pytest.raises(UnknownModel):
            reg.get(bad, "v1")
        assert reg.production(bad) is None and reg.records(bad) == []
    assert not (tmp_path / "evil").exists()


def test_only_candidates_are_registered(tmp_path: Path) -> None:
    reg = FileModelRegistryAdapter(tmp_path)
    with pytest.raises(ValueError, match="candidate"):
        reg.register(ModelRecord("lstm", "v1", "x.pt", 1, stage="production"))
    assert reg.records() == []
