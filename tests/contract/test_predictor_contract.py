"""Predictor contract, run against the mock and the real `training.predictor.TorchPredictor` (LSTM and
Transformer). Factories get the fixture request and return a `Case`: the predictor, inputs it can
score, a well-formed input for a pair it does not serve, and inputs whose window is not ready."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import attrs
import numpy as np
import pytest
import torch

from adapters.mocks.predictor import FixedPredictor
from composition.config import DEFAULT_SHARED_DATA
from domain.feature_matrix import FeatureMatrix
from domain.market import Timeframe
from ports.predictor import Predictor

CANDLES = DEFAULT_SHARED_DATA / "candles" / "binance"
TRAINED_PAIRS = ("ETH/USDT", "BTC/USDT")  # not sorted: the order of outputs must follow the inputs
UNSERVED_PAIR = "BNB/USDT"  # real candles exist, but the bundle below was not trained on it


@dataclass(frozen=True)
class Case:
    predictor: Predictor
    inputs: Mapping[str, Any]  # >= 2 pairs, every one scorable
    unknown: Mapping[str, Any]  # well-formed input(s) for pair(s) the predictor does not serve
    # (pair, input) whose window is not ready (too little history, NaN); None when the adapter reads no history
    not_ready: Sequence[tuple[str, Any]] | None


def _mock(request: pytest.FixtureRequest) -> Case:
    """The mock scores from a fixed table and ignores its inputs, so it has no notion of a window."""
    return Case(
        FixedPredictor("lstm", "v1", {"BTC/USDT": 0.7, "ETH/USDT": 0.4}),
        {"ETH/USDT": None, "BTC/USDT": None},
        {"XRP/USDT": None},
        None,
    )


@pytest.fixture(scope="session")
def real_bundle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A REAL training run, kept tiny: the quick profile on the last 3000 real 5m bars of BTC and ETH,
    one epoch per network (about 2 s on one core), registered in a temporary registry. The figures of
    so short a run are meaningless; the contract only needs real networks, standardisers fitted on real
    features and real calibration maps, loaded the way the runtime loads them."""
    if not CANDLES.is_dir():
        pytest.skip("real candles not available")
    from adapters.market_data.bundled import BundledCandles
    from training.pipeline import quick_settings
    from training.service import train_and_record

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        src = BundledCandles(CANDLES)
        candles = {p: src.candles(p, Timeframe.M5) for p in (*TRAINED_PAIRS, UNSERVED_PAIR)}
        s = quick_settings(seed=11, device="cpu")
        s = attrs.evolve(
            s,
            max_bars=3000,
            leakage_cuts=1,
            lstm_loop=attrs.evolve(s.lstm_loop, epochs=1),
            tf_loop=attrs.evolve(s.tf_loop, epochs=1),
        )
        root = tmp_path_factory.mktemp("predictor_contract")
        out = train_and_record({p: candles[p] for p in TRAINED_PAIRS}, s, root / "models", root / "runs")
    finally:
        torch.set_num_threads(threads)
    return {"models": root / "models", "tag": out.tag, "candles": candles}


def _nan_last_row(fm: FeatureMatrix) -> FeatureMatrix:
    values = fm.values.copy()
    values[-1, 0] = np.nan
    return attrs.evolve(fm, values=values)


def _torch_case(kind: str) -> Callable[[pytest.FixtureRequest], Case]:
    def factory(request: pytest.FixtureRequest) -> Case:
        """Real TorchPredictor loaded from a real (tiny) training run's registry entry (`real_bundle`),
        fed FeatureMatrix rows from `domain.features.compute_features` over `min_bars` real candles."""
        from domain.features import compute_features
        from training.predictor import RuntimeFeatures, load_predictors

        bundle = request.getfixturevalue("real_bundle")
        predictor = next(p for p in load_predictors(bundle["models"], tag=bundle["tag"]) if p.name == kind)
        rf = RuntimeFeatures(predictor.feature_params, predictor.timeframe, predictor.seq_len)

        def features(pair: str, bars: int) -> FeatureMatrix:
            return compute_features(bundle["candles"][pair].tail(bars), rf.params)

        inputs = {p: features(p, rf.min_bars) for p in TRAINED_PAIRS}
        assert all(len(fm) >= rf.min_bars for fm in inputs.values())
        full = inputs[TRAINED_PAIRS[1]]
        keep = predictor.seq_len - 1
        not_ready = [
            # one row short of a window (finite values, but too little history)
            (TRAINED_PAIRS[1], attrs.evolve(full, ts=full.ts[-keep:], values=full.values[-keep:])),
            # a window's worth of bars, but the features' warm-up is not done: NaN inside the window
            (TRAINED_PAIRS[0], features(TRAINED_PAIRS[0], predictor.seq_len)),
            # full history, but the last bar's features are missing
            (TRAINED_PAIRS[1], _nan_last_row(full)),
        ]
        return Case(predictor, inputs, {UNSERVED_PAIR: features(UNSERVED_PAIR, rf.min_bars)}, not_ready)

    factory.__doc__ = f"{kind}: " + (factory.__doc__ or "")
    return factory


PREDICTORS: list[Any] = [
    pytest.param(_mock, id="mock"),
    pytest.param(_torch_case("lstm"), id="torch-lstm"),
    pytest.param(_torch_case("transformer"), id="torch-transformer"),
]


@pytest.fixture(params=PREDICTORS)
def case(request: pytest.FixtureRequest) -> Case:
    factory: Callable[[pytest.FixtureRequest], Case] = request.param
    return factory(request)


def _fingerprint(x: Any) -> Any:
    """A comparable snapshot of an input (FeatureMatrix compares by identity)."""
    if isinstance(x, np.ndarray):
        return (x.dtype.str, x.shape, x.tobytes())
    if attrs.has(type(x)):
        return tuple((f.name, _fingerprint(getattr(x, f.name))) for f in attrs.fields(type(x)))
    return repr(x)


def test_predictions_follow_input_order_and_identity(case: Case) -> None:
    p = case.predictor
    assert isinstance(p, Predictor)
    preds = p.predict(case.inputs)
    assert [x.pair for x in preds] == list(case.inputs)  # every scorable pair, once, in input order
    assert all(x.model_name == p.name and x.model_version == p.version for x in preds)
    assert all(math.isfinite(x.prob_up) and 0.0 <= x.prob_up <= 1.0 for x in preds)
    reversed_inputs = dict(reversed(list(case.inputs.items())))
    back = p.predict(reversed_inputs)
    assert [x.pair for x in back] == list(reversed_inputs)
    # the score of a pair does not depend on its place in the batch
    assert {x.pair: x.prob_up for x in back} == pytest.approx({x.pair: x.prob_up for x in preds}, abs=1e-6)


def test_deterministic_and_inputs_untouched(case: Case) -> None:
    p = case.predictor
    before = {k: _fingerprint(v) for k, v in case.inputs.items()}
    first = p.predict(case.inputs)
    assert p.predict(case.inputs) == first
    assert p.predict(copy.deepcopy(dict(case.inputs))) == first
    assert {k: _fingerprint(v) for k, v in case.inputs.items()} == before


def test_unknown_pairs_are_left_out(case: Case) -> None:
    p = case.predictor
    assert p.predict({}) == []
    assert p.predict(case.unknown) == []
    mixed = {**case.unknown, **case.inputs}
    alone = p.predict(case.inputs)
    out = p.predict(mixed)
    assert [x.pair for x in out] == list(case.inputs)
    assert [x.prob_up for x in out] == pytest.approx([x.prob_up for x in alone], abs=1e-6)


def test_a_pair_whose_window_is_not_ready_is_left_out_not_guessed(case: Case) -> None:
    if case.not_ready is None:
        pytest.skip("this adapter reads no history (a fixed table), so no window can be unready")
    p = case.predictor
    ready = {x.pair: x.prob_up for x in p.predict(case.inputs)}
    for pair, unready in case.not_ready:
        assert p.predict({pair: unready}) == []
        mixed = {**case.inputs, pair: unready}
        out = p.predict(mixed)
        assert [x.pair for x in out] == [k for k in mixed if k != pair]
        assert {x.pair: x.prob_up for x in out} == pytest.approx(
            {k: v for k, v in ready.items() if k != pair}, abs=1e-6
        )


@pytest.mark.parametrize("kind", ["lstm", "transformer"])
def test_the_same_windows_again_reuse_the_last_forward_pass(kind: str, request: pytest.FixtureRequest) -> None:
    """A cycle between two bar closes brings the same windows: the last forward pass's numbers come
    back (the very numbers a new pass gives); a changed window, or another set of pairs, runs the nets."""
    case = _torch_case(kind)(request)
    p: Any = case.predictor
    first = p.predict(case.inputs)
    passes: list[int] = []
    forward = p._forward

    def counted(ready: list[Any]) -> list[float]:
        passes.append(len(ready))
        out: list[float] = forward(ready)
        return out

    p._forward = counted
    assert p.predict(copy.deepcopy(dict(case.inputs))) == first and passes == []
    p._last = None  # forget it: a new pass gives the same bits
    assert p.predict(case.inputs) == first and passes == [2]
    pair = TRAINED_PAIRS[0]
    fm = case.inputs[pair]
    values = fm.values.copy()
    values[-1, list(fm.names).index(p.feature_names[0])] += 0.5
    moved = p.predict({**case.inputs, pair: attrs.evolve(fm, values=values)})
    assert passes == [2, 2] and [x.pair for x in moved] == list(case.inputs)
    assert p.predict({TRAINED_PAIRS[1]: case.inputs[TRAINED_PAIRS[1]]}) != [] and passes == [2, 2, 1]
