"""Candles <-> the GAN's per-bar channels (numpy, vectorised).

Channel per bar t >= 1 of a gap-free run: r = log(close_t / close_{t-1}), up = log(high_t /
max(open_t, close_t)), down = log(min(open_t, close_t) / low_t) (both >= 0: high and low relative to
the bar's body at close) and lv = log(volume_t). Synthetic candles rebuilt from channels open at the
previous close, so high >= max(open, close) >= min(open, close) >= low always holds.
"""

from __future__ import annotations

import attrs
import numpy as np
import numpy.typing as npt

from domain.market import Candles, Timeframe

F64 = npt.NDArray[np.float64]
N_CHANNELS = 4


def segments(candles: Candles) -> list[tuple[int, int]]:
    """[start, stop) index ranges of consecutive bars (no gap inside)."""
    step = candles.timeframe.minutes * 60_000
    breaks = np.flatnonzero(np.diff(candles.ts) != step) + 1
    starts = np.r_[0, breaks]
    stops = np.r_[breaks, len(candles)]
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True) if b - a >= 2]


def to_channels(candles: Candles) -> list[F64]:
    """One (n-1, 4) channel array per gap-free run."""
    out = []
    for a, b in segments(candles):
        o, h, lo, c = (
            np.asarray(x[a:b], dtype=np.float64) for x in (candles.open, candles.high, candles.low, candles.close)
        )
        v = np.asarray(candles.volume[a:b], dtype=np.float64)
        top, bot = np.maximum(o, c), np.minimum(o, c)
        r = np.log(c[1:] / c[:-1])
        up = np.log(np.maximum(h[1:], top[1:]) / top[1:])
        down = np.log(bot[1:] / np.maximum(np.minimum(lo[1:], bot[1:]), 1e-12))
        lv = np.log(np.maximum(v[1:], 1e-12))
        out.append(np.column_stack([r, up, down, lv]))
    return out


def returns(candles: Candles) -> list[F64]:
    return [ch[:, 0] for ch in to_channels(candles)]


@attrs.frozen
class ChannelScaler:
    mean: F64
    std: F64

    @classmethod
    def fit(cls, chans: list[F64]) -> ChannelScaler:
        x = np.concatenate(chans)
        return cls(x.mean(axis=0), np.maximum(x.std(axis=0), 1e-12))

    def scale(self, x: F64) -> F64:
        return (x - self.mean) / self.std

    def unscale(self, z: F64) -> F64:
        return z * self.std + self.mean


def to_candles(chans: F64, symbol: str, timeframe: Timeframe, start_ms: int, start_close: float) -> Candles:
    """Synthetic candles from one (n, 4) channel path (n bars; labelled by the caller as synthetic)."""
    r = chans[:, 0]
    up, down = np.abs(chans[:, 1]), np.abs(chans[:, 2])
    close = start_close * np.exp(np.cumsum(r))
    open_ = np.r_[start_close, close[:-1]]
    high = np.maximum(open_, close) * np.exp(up)
    low = np.minimum(open_, close) * np.exp(-down)
    vol = np.exp(chans[:, 3])
    ts = start_ms + np.arange(r.size, dtype=np.int64) * timeframe.minutes * 60_000
    return Candles(symbol, timeframe, ts, open_, high, low, close, vol)
