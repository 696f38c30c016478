"""training.registry: content-hashed files, semver tags, gated promotion, rollback audit trail."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from adapters.mocks.storage import InMemoryDeployments
from training.registry import FileModelRegistry, PromotionRefused, UnknownTag


def _bundle(reg: FileModelRegistry, content: bytes, passed: bool) -> str:
    f = reg.write_model("lstm", "BTC", content, {"epochs": 10, "hidden": 64})
    return reg.register(
        {"lstm:BTC/USDT": f},
        metrics={"x": 1.0},
        gates={},
        gates_passed=passed,
        data_range={},
        run_id="r",
        extra={"gate_failures": [] if passed else [{"role": "ensemble:BTC/USDT", "name": "precision"}]},
    )


def test_file_named_by_content_hash_and_params(tmp_path: Path) -> None:
    reg = FileModelRegistry(tmp_path)
    f = reg.write_model("lstm", "BTC", b"weights", {"epochs": 10, "hidden": 64})
    digest = hashlib.sha256(b"weights").hexdigest()
    assert f["file"] == f"lstm_btc_{digest[:6]}_epochs10_hidden64.pt"
    assert (tmp_path / f["file"]).read_bytes() == b"weights"
    assert reg.write_model("lstm", "BTC", b"weights", {"epochs": 10, "hidden": 64}) == f  # idempotent


def test_tags_are_semver_and_unknown_tag_is_a_user_error(tmp_path: Path) -> None:
    reg = FileModelRegistry(tmp_path)
    assert _bundle(reg, b"a", True) == "v1.0.0"
    assert _bundle(reg, b"b", True) == "v1.1.0"
    assert reg.tags() == ["v1.0.0", "v1.1.0"]
    with pytest.raises(UnknownTag, match=r"known tags: v1\.0\.0, v1\.1\.0"):
        reg.entry("v9.9.9")


def test_failing_bundle_is_refused_unless_forced(tmp_path: Path) -> None:
    reg = FileModelRegistry(tmp_path)
    tag = _bundle(reg, b"a", False)
    deps = InMemoryDeployments()
    with pytest.raises(PromotionRefused, match="precision"):
        reg.promote(tag, "try", deps)
    assert reg.current() is None and deps.history() == []
    reg.promote(tag, "operator override", deps, force=True, now_ms=1_000)
    assert reg.current() == tag
    assert reg.load()["history"][-1]["forced"] is True
    assert '"forced": true' in deps.history()[0].metrics_json


def test_promote_then_rollback_moves_links_and_records_reasons(tmp_path: Path) -> None:
    reg = FileModelRegistry(tmp_path)
    deps = InMemoryDeployments()
    v1, v2 = _bundle(reg, b"one", True), _bundle(reg, b"two", True)
    reg.promote(v1, "first", deps, now_ms=1_000)
    reg.promote(v2, "better", deps, now_ms=2_000)
    link = tmp_path / "promoted" / "lstm_btc_usdt.pt"
    assert link.read_bytes() == b"two" and os.readlink(link).startswith("../lstm_btc_")
    reg.rollback(v1, "v2 misbehaved live", deps, now_ms=3_000)
    assert link.read_bytes() == b"one"
    assert (tmp_path / "promoted" / "TAG").read_text().strip() == v1
    hist = deps.history()
    assert [(d.version, d.rollback_reason) for d in hist] == [(v1, None), (v2, "v2 misbehaved live"), (v1, None)]
    current = deps.current()
    assert current is not None and current.version == v1
    assert reg.load()["history"][-1] == {
        "action": "rollback",
        "tag": v1,
        "previous": v2,
        "reason": "v2 misbehaved live",
        "forced": False,
        "at": "1970-01-01T00:00:03+00:00",
    }
