"""Predictor contract. Factories get tmp_path and return (predictor, inputs) where inputs is a
mapping pair -> model input the predictor can score."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.predictor import FixedPredictor
from ports.predictor import Predictor


def _mock(tmp_path: Path) -> tuple[Predictor, Mapping[str, Any]]:
    return FixedPredictor("lstm", "v1", {"BTC/USDT": 0.7, "ETH/USDT": 0.4}), {"ETH/USDT": None, "BTC/USDT": None}


PREDICTORS: list[Any] = [pytest.param(_mock, id="mock")]


@pytest.fixture(params=PREDICTORS)
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Predictor, Mapping[str, Any]]:
    factory: Callable[[Path], tuple[Predictor, Mapping[str, Any]]] = request.param
    return factory(tmp_path)


def test_predictions_follow_input_order_and_identity(setup: tuple[Predictor, Mapping[str, Any]]) -> None:
    p, inputs = setup
    assert isinstance(p, Predictor)
    preds = p.predict(inputs)
    pairs = [x.pair for x in preds]
    assert pairs == [k for k in inputs if k in pairs] and len(set(pairs)) == len(pairs)
    assert all(x.model_name == p.name and x.model_version == p.version for x in preds)
    assert all(0.0 <= x.prob_up <= 1.0 for x in preds)
    assert p.predict(inputs) == preds  # deterministic


def test_unknown_pairs_are_left_out(setup: tuple[Predictor, Mapping[str, Any]]) -> None:
    p, _ = setup
    assert p.predict({}) == []
