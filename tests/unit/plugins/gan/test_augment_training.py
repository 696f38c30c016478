"""The training side of augmentation: synthetic samples enter only the training split, are capped,
tagged, counted in the experiment record, and a share above 20 % is refused. Real torch training on
the real candles (a small slice) with a plugin object registered on the real plugin host."""

from __future__ import annotations

import json
from typing import Any

import attrs
import numpy as np
import pytest

from composition.config import DEFAULT_SHARED_DATA
from domain.errors import ConfigError
from plugins import hookimpl
from plugins.manager import PluginHost
from ports.augmentation import AugmentRequest
from training import pipeline
from training.datasets import WindowSet, concat_sets, synthetic_target
from training.experiments import record_run

DATA = DEFAULT_SHARED_DATA / "candles" / "binance" / "BTC_USDT-5m.parquet"
pytestmark = pytest.mark.skipif(not DATA.is_file(), reason="real candles not present")


def _candles(n: int) -> Any:
    import pandas as pd

    from domain.market import Candles, Timeframe

    df = pd.read_parquet(DATA).tail(n)
    ts = df.timestamp.dt.tz_localize(None).astype("datetime64[ms]").astype("int64").to_numpy()
    return Candles("BTC/USDT", Timeframe.parse("5m"), ts, df.open, df.high, df.low, df.close, df.volume)


class Recorder:
    """An augmentation plugin that returns the training side's own samples of shifted REAL training bars
    (the mechanics under test are the training side's, not a generator's); it records what it saw."""

    def __init__(self) -> None:
        self.requests: list[AugmentRequest] = []
        self.made: list[WindowSet] = []

    @hookimpl
    def trading_ai_augment_training_set(self, name: str, features: Any, labels: Any, seed: int) -> Any:
        self.requests.append(features)
        s = features.make_samples(features.candles)
        self.made.append(s)
        return [s], s.direction


@pytest.fixture(scope="module")
def run() -> tuple[Any, Recorder, Any]:
    candles = _candles(4000)
    rec = Recorder()
    host = PluginHost.discover(entry_points=[], extra={"rec": rec})
    s = attrs.evolve(
        pipeline.quick_settings(seed=3),
        max_bars=4000,
        synthetic_share=0.10,
        threads=1,
        lstm_loop=attrs.evolve(pipeline.quick_settings().lstm_loop, epochs=1),
        tf_loop=attrs.evolve(pipeline.quick_settings().tf_loop, epochs=1),
    )
    res = pipeline.run_training({"BTC/USDT": candles}, s, augment=host.augment_training_set)
    return res, rec, candles


def test_cap_formula_and_refusal_above_20_percent() -> None:
    assert synthetic_target(900, 0.10) == 100  # 100 / (900 + 100) = 10 % of the training split
    assert synthetic_target(800, 0.20) == 200
    assert synthetic_target(800, 0.0) == 0
    with pytest.raises(ConfigError, match="refused"):
        synthetic_target(800, 0.21)
    with pytest.raises(ConfigError):
        pipeline.run_training({}, attrs.evolve(pipeline.quick_settings(), synthetic_share=0.25))


def test_concat_tags_synthetic_rows() -> None:
    a = WindowSet(
        np.zeros((5, 2), np.float32),
        np.array([2, 3, 4]),
        np.zeros(3, np.int64),
        np.ones(3, np.float32),
        np.zeros(3, np.float32),
        2,
    )
    both = concat_sets([a, a], [False, True])
    assert both.synthetic is not None and both.synthetic.tolist() == [False] * 3 + [True] * 3
    assert both.synthetic_count == 3 and both.ends.tolist() == [2, 3, 4, 7, 8, 9]
    assert both.windows(np.array([3]))[0].shape == (2, 2)


def test_plugin_sees_only_training_bars_and_share_is_capped(run: tuple[Any, Recorder, Any]) -> None:
    res, rec = run[0], run[1]
    fold = res.report["final"]["pairs"]["BTC/USDT"]["split"]
    assert len(rec.requests) == 1
    req = rec.requests[0]
    # the plugin learns from the training block only: every bar it got ends before validation starts
    assert int(req.candles.ts[-1]) < fold["val"]["range"][0]
    n_real, n_syn = fold["train"]["n"], fold["train"]["synthetic"]
    assert n_syn == req.target_rows == synthetic_target(n_real, 0.10)
    assert 0.09 < n_syn / (n_syn + n_real) <= 0.10


def test_validation_and_test_stay_real_and_counts_reach_the_record(
    run: tuple[Any, Recorder, Any], tmp_path: Any
) -> None:
    res, _rec, _ = run
    split = res.report["final"]["pairs"]["BTC/USDT"]["split"]
    assert "synthetic" not in split["val"] and "synthetic" not in split["test"]
    # validation/test sample counts are those of the real folds alone
    assert res.report["final"]["pairs"]["BTC/USDT"]["models"]["ensemble"]["test"]["n"] == split["test"]["n"]
    path = record_run(tmp_path, "r1", res.report, "tag1")
    rec = json.loads(path.read_text())
    assert rec["synthetic"]["share"] == 0.10
    assert rec["synthetic"]["total"] == split["train"]["synthetic"] > 0
    assert rec["final"]["synthetic_rows"] == {"BTC/USDT": split["train"]["synthetic"]}
