"""The generator on real candles: channels round-trip, seeded deterministic training, and the hook's
rules (off unless enabled, a generator failing its quality checks is not used)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import plugins.gan as gan_plugin
from composition.config import DEFAULT_SHARED_DATA
from plugins.gan import channels as ch
from plugins.gan.augment import GanAugmenter
from plugins.gan.model import GanConfig, train_gan
from ports.augmentation import AugmentRequest

DATA = DEFAULT_SHARED_DATA / "candles" / "binance" / "BTC_USDT-5m.parquet"
pytestmark = pytest.mark.skipif(not DATA.is_file(), reason="real candles not present")
TINY = {"steps": 3, "window": 16, "hidden": 8, "batch": 8}


@pytest.fixture(scope="module")
def candles() -> Any:
    import pandas as pd

    from domain.market import Candles, Timeframe

    torch.set_num_threads(1)
    df = pd.read_parquet(DATA).tail(1500)
    ts = df.timestamp.dt.tz_localize(None).astype("datetime64[ms]").astype("int64").to_numpy()
    return Candles("BTC/USDT", Timeframe.parse("5m"), ts, df.open, df.high, df.low, df.close, df.volume)


def test_channels_round_trip_to_candles(candles: Any) -> None:
    chans = ch.to_channels(candles)[0]
    assert np.all(chans[:, 1] >= 0) and np.all(chans[:, 2] >= 0)
    back = ch.to_candles(chans, "BTC/USDT", candles.timeframe, int(candles.ts[1]), float(candles.close[0]))
    np.testing.assert_allclose(back.close, candles.close[1:], rtol=1e-9)
    assert np.all(back.high >= np.maximum(back.open, back.close)) and np.all(
        back.low <= np.minimum(back.open, back.close)
    )


def test_training_is_seeded_and_deterministic(candles: Any) -> None:
    chans = ch.to_channels(candles)
    a = train_gan(chans, GanConfig(**TINY, seed=5)).generate(2, 50, 1)
    b = train_gan(chans, GanConfig(**TINY, seed=5)).generate(2, 50, 1)
    c = train_gan(chans, GanConfig(**TINY, seed=6)).generate(2, 50, 1)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c[0])


def _request(candles: Any, enabled: bool) -> AugmentRequest:
    return AugmentRequest(
        "BTC/USDT", candles, 10, 16, 3, lambda c: _Set(len(c) // 100), settings={"gan": {"enabled": enabled, **TINY}}
    )


class _Set:
    def __init__(self, n: int) -> None:
        self.direction = np.zeros(n)

    def __len__(self) -> int:
        return int(self.direction.size)


def test_hook_is_off_unless_enabled_and_refuses_a_failing_generator(candles: Any) -> None:
    assert gan_plugin.trading_ai_augment_training_set("lstm", _request(candles, False), None, 1) is None
    # a 3-step generator fails its quality checks: enabled or not, it is not used
    assert gan_plugin.trading_ai_augment_training_set("lstm", _request(candles, True), None, 1) is None
    forced = GanAugmenter(force=True).augment(_request(candles, True), 1)
    assert forced is not None and sum(len(s) for s in forced[0]) >= 10
