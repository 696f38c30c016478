"""Model bundles are verified on load (issue 20): a weights file whose sha256 is not the registry's is
refused naming the file (a swapped file was served silently before); a damaged registry.json or
network file is one CorruptFile naming it; the runtime never falls back to the baseline on one."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from composition.config import load_config
from composition.containers import load_predictors as runtime_predictors
from domain.errors import CorruptFile
from training.networks import LSTMDirection
from training.predictor import load_predictors
from training.registry import FileModelRegistry, load_model_file, serialise_model


def _blob(seed: int) -> bytes:
    torch.manual_seed(seed)
    net = LSTMDirection(3, hidden=4)
    return serialise_model(net.state_dict(), {"kind": "lstm", "hparams": net.hparams, "pairs": {"BTC/USDT": {}}})


def _promoted(models: Path) -> Path:
    reg = FileModelRegistry(models)
    f = reg.write_model("lstm", "BTC", _blob(1), {"hidden": 4})
    tag = reg.register({"lstm:BTC/USDT": f}, metrics={}, gates={}, gates_passed=True, data_range={}, run_id="r")
    reg.promote(tag, "test")
    file: str = f["file"]
    return models / file


def test_an_intact_bundle_loads_and_a_swapped_weights_file_is_refused(tmp_path: Path) -> None:
    weights = _promoted(tmp_path)
    reg = FileModelRegistry(tmp_path)
    digest = reg.entry(reg.current() or "")["files"]["lstm:BTC/USDT"]["sha256"]
    state, meta = load_model_file(weights, digest)
    assert meta["kind"] == "lstm" and "head.weight" in state
    weights.write_bytes(_blob(2))  # a valid network file, but not the one the registry recorded
    with pytest.raises(CorruptFile, match=r"model file .*lstm_btc_.*\.pt does not match its registry sha256"):
        load_predictors(tmp_path)


def test_truncated_weights_and_a_damaged_registry_name_the_file(tmp_path: Path) -> None:
    weights = _promoted(tmp_path)
    reg = FileModelRegistry(tmp_path)
    digest = reg.entry(reg.current() or "")["files"]["lstm:BTC/USDT"]["sha256"]
    weights.write_bytes(weights.read_bytes()[:100])
    with pytest.raises(CorruptFile, match="cannot be read"):
        load_model_file(weights)
    with pytest.raises(CorruptFile, match="does not match its registry sha256"):
        load_model_file(weights, digest)
    (tmp_path / "registry.json").write_bytes(b'{"tags": {"v1.0.0": ')
    with pytest.raises(CorruptFile, match=r"model registry .*registry.json is not valid JSON"):
        reg.tags()
    (tmp_path / "registry.json").write_bytes(b"\xff\xfe not utf-8")
    with pytest.raises(CorruptFile, match=r"registry\.json is not valid JSON"):
        reg.current()
    (tmp_path / "registry.json").write_text("[1, 2]")
    with pytest.raises(CorruptFile, match="does not hold tags"):
        reg.tags()


def test_the_runtime_refuses_a_corrupt_bundle_instead_of_falling_back(tmp_path: Path) -> None:
    weights = _promoted(tmp_path)
    weights.write_bytes(_blob(3))
    config = load_config(env_file=None, environ={"MODELS_DIR": str(tmp_path)})
    with pytest.raises(CorruptFile, match="does not match its registry sha256"):
        runtime_predictors(config, logging.getLogger("test"))
    (tmp_path / "promoted" / "TAG").unlink()  # nothing promoted: the named baseline, as before
    preds, _features, passed, note = runtime_predictors(config, logging.getLogger("test"))
    assert [p.name for p in preds] == ["momentum"] and not passed and "baseline" in note
