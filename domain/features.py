"""The feature set: one vectorised, causal code path for training, backtest and live.

`compute_features(candles, params, higher)` returns a `FeatureMatrix` whose row t only uses bars
with open time <= t (it is what is known when bar t closes) and higher-timeframe bars only once
they have closed. Rows are NaN while a feature warms up and wherever its window would span a gap
in the data (see `domain.cleaning.valid_window_mask`); nothing is forward-filled.

Rolling statistics use prefix sums, so a value at t depends on the inputs up to t only and is
bit-for-bit unchanged when later bars change (what the leakage guard checks).

Features (names for a 5m base, default parameters):
- `ret_{k}`: log return over k bars, for k in `return_lookbacks`.
- `atr_{w}`: average true range over w bars as a fraction of close.
- `rv_{w}`: realised volatility, std of 1-bar log returns over w bars, for w in `vol_windows`.
- `vol_ratio`, `vol_regime`: rv over the shortest / longest window and its regime -1 low, 0, +1 high.
- `volume_z_{w}`: z-score of log(1 + volume) against its trailing w bars.
- `spread_cs_{w}`, `spread_ar_{w}`: Corwin-Schultz and Abdi-Ranaldo spread estimates over w bars.
- `session_tokyo|london|new_york`: 0/1; `dow_sin|cos`, `hour_sin|cos`: calendar position.
- `trend_{tf}`, `mom_{tf}` for the base and each higher timeframe: close / SMA(trend_window) - 1
  and log return over `momentum_lookback` bars of that timeframe.
- `mtf_alignment`: mean sign of momentum over all timeframes (+1 all up, -1 all down);
  `mtf_trend_alignment`: the same for trend; `mtf_convergence`: sign of base momentum times the
  mean sign of the higher-timeframe trends (+1 converge, -1 diverge).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import Final

import attrs
import numpy as np
from numba import njit

from domain.cleaning import WindowValidity
from domain.feature_matrix import FeatureMatrix
from domain.market import (
    MS_PER_DAY,
    MS_PER_MINUTE,
    BoolArray,
    Candles,
    FloatArray,
    IntArray,
    Session,
    Timeframe,
    atr,
    day_of_week,
    session_masks,
)
from domain.resample import align_closed, resample
from domain.spread_estimators import rolling_abdi_ranaldo, rolling_corwin_schultz

# Bump when the feature code changes what it computes: it is part of every feature-store key.
FEATURE_CODE_VERSION: Final = "2"


def _positive_ints(_inst: object, attr: attrs.Attribute[tuple[int, ...]], value: tuple[int, ...]) -> None:
    if not value or any(int(v) < 1 for v in value):
        raise ValueError(f"{attr.name} must be a non-empty tuple of integers >= 1, got {value!r}")


def _positive(_inst: object, attr: attrs.Attribute[int], value: int) -> None:
    if int(value) < 1:
        raise ValueError(f"{attr.name} must be >= 1, got {value!r}")


def _int_tuple(value: object) -> tuple[int, ...]:
    return tuple(int(v) for v in value)  # type: ignore[attr-defined]


def _tf_tuple(value: object) -> tuple[str, ...]:
    return tuple(Timeframe.parse(v).value for v in value)  # type: ignore[attr-defined]


@attrs.frozen
class FeatureParams:
    """Everything that changes the feature values; `key()` hashes it with the code version."""

    return_lookbacks: tuple[int, ...] = attrs.field(
        default=(1, 5, 15, 60), converter=_int_tuple, validator=_positive_ints
    )
    atr_window: int = attrs.field(default=14, validator=_positive)
    vol_windows: tuple[int, ...] = attrs.field(default=(30, 120), converter=_int_tuple, validator=_positive_ints)
    volume_z_window: int = attrs.field(default=60, validator=_positive)
    spread_window: int = attrs.field(default=30, validator=_positive)
    higher_timeframes: tuple[str, ...] = attrs.field(default=("15m", "1h", "4h"), converter=_tf_tuple)
    trend_window: int = attrs.field(default=20, validator=_positive)
    momentum_lookback: int = attrs.field(default=10, validator=_positive)
    regime_low: float = 0.8
    regime_high: float = 1.25

    def key(self) -> str:
        """A stable 16-hex-digit hash of the parameters and FEATURE_CODE_VERSION (memoised: the live
        cycle asks for it on every feature build)."""
        hit = _KEYS.get(self)
        if hit is None:
            payload = json.dumps(
                {"code": FEATURE_CODE_VERSION, "params": attrs.asdict(self)},
                sort_keys=True,
            )
            hit = _KEYS[self] = hashlib.sha256(payload.encode()).hexdigest()[:16]
        return hit

    def to_dict(self) -> dict[str, object]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in attrs.asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> FeatureParams:
        return cls(**data)  # type: ignore[arg-type]


_KEYS: dict[FeatureParams, str] = {}
DEFAULT_PARAMS: Final = FeatureParams()


def higher_timeframes_for(params: FeatureParams, base: Timeframe) -> list[Timeframe]:
    """The configured higher timeframes that are whole multiples of (and longer than) the base."""
    out = []
    for v in params.higher_timeframes:
        tf = Timeframe.parse(v)
        if tf.ms > base.ms and tf.ms % base.ms == 0:
            out.append(tf)
    return sorted(set(out), key=lambda t: t.ms)


def warmup_bars(params: FeatureParams = DEFAULT_PARAMS, timeframe: Timeframe = Timeframe.M1) -> int:
    """Base bars needed before every feature is defined (on gap-free data)."""
    base_need = max(
        max(params.return_lookbacks) + 1,
        params.atr_window + 1,
        max(params.vol_windows) + 1,
        params.volume_z_window,
        params.spread_window + 1,
        params.trend_window,
        params.momentum_lookback + 1,
    )
    per_tf = max(params.trend_window, params.momentum_lookback + 1)
    higher_need = [(per_tf + 1) * (tf.ms // timeframe.ms) for tf in higher_timeframes_for(params, timeframe)]
    return max([base_need, *higher_need])


# ---------------------------------------------------------------- rolling helpers (prefix sums)


@njit(cache=True)
def _rolling_sums_into(x: FloatArray, window: int, s1: FloatArray, s2: FloatArray, squares: bool) -> None:
    """s1 (and s2 when `squares`) := sums of x (of x * x) over x[t-window+1 .. t]; NaN during warm-up
    or when the window holds a non-finite value. The prefix sums are accumulated in index order, as
    np.cumsum does, and differenced as c[t+1] - c[t+1-window]; a ring of the last window + 1
    prefixes stands in for the whole prefix array (outputs come preallocated: no large allocation)."""
    n = x.shape[0]
    ring = window + 1
    c1 = np.zeros(ring)
    c2 = np.zeros(ring)
    cb = np.zeros(ring, dtype=np.int64)
    p1 = 0.0
    p2 = 0.0
    pb = 0
    for i in range(n):
        v = x[i]
        if np.isfinite(v):
            p1 = p1 + v
            p2 = p2 + v * v
        else:
            p1 = p1 + 0.0
            p2 = p2 + 0.0
            pb += 1
        k = (i + 1) % ring  # slot of prefix i + 1
        c1[k] = p1
        c2[k] = p2
        cb[k] = pb
        if i < window - 1:
            s1[i] = np.nan
            s2[i] = np.nan
            continue
        o = (i + 1 - window) % ring  # slot of prefix i + 1 - window
        if pb - cb[o] == 0:
            s1[i] = p1 - c1[o]
            s2[i] = p2 - c2[o] if squares else np.nan
        else:
            s1[i] = np.nan
            s2[i] = np.nan


def _rolling_sum(x: FloatArray, window: int) -> FloatArray:
    """Sum of x[t-window+1 .. t]; NaN during warm-up or when the window holds a non-finite value."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    s1, s2 = np.empty(x.shape[0]), np.empty(x.shape[0])
    _rolling_sums_into(x, int(window), s1, s2, False)
    return s1


@njit(cache=True)
def _mean_std_into(x: FloatArray, window: int, mean: FloatArray, sd: FloatArray) -> None:
    _rolling_sums_into(x, window, mean, sd, True)  # sums first, overwritten in place below
    for t in range(x.shape[0]):
        s1 = mean[t]
        s2 = sd[t]
        m = s1 / window
        mean[t] = m
        if window == 1:
            sd[t] = 0.0
        else:
            var = (s2 - s1 * m) / (window - 1)
            if var < 0.0:
                var = 0.0
            sd[t] = np.sqrt(var)


def _rolling_mean_std(x: FloatArray, window: int) -> tuple[FloatArray, FloatArray]:
    """Trailing mean and sample std (ddof=1) over `window` values."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    mean, sd = np.empty(x.shape[0]), np.empty(x.shape[0])
    _mean_std_into(x, int(window), mean, sd)
    return mean, sd


def _log_return(close: FloatArray, k: int) -> FloatArray:
    out = np.empty(close.shape[0])
    out[: min(k, close.shape[0])] = np.nan
    if close.shape[0] > k:
        tail = out[k:]
        with np.errstate(divide="ignore", invalid="ignore"):
            np.divide(close[k:], close[:-k], out=tail)
            np.log(tail, out=tail)
    return out


def _masked(values: FloatArray, valid: BoolArray) -> FloatArray:
    return np.where(valid, values, np.nan)


# Below this magnitude a trend/momentum counts as flat. Prefix sums over different history lengths
# (a live tail vs a full backfill) differ by ~1e-12 relative, which must not flip a sign.
_FLAT: Final = 1e-9


def _sign(x: FloatArray) -> FloatArray:
    """-1, 0, +1 (NaN stays NaN), with |x| < 1e-9 counted as 0."""
    return np.where(np.abs(x) < _FLAT, 0.0, np.sign(x))


@njit(cache=True)
def _mean_sign_into(rows: tuple[FloatArray, ...], times: FloatArray | None, out: FloatArray) -> None:
    """out := mean over `rows` of `_sign` per bar (NaN if any is NaN), times `_sign(times)` when given."""
    n = rows[0].shape[0]
    k = len(rows)
    for i in range(n):
        acc = 0.0
        for r in range(k):
            v = rows[r][i]
            if np.isnan(v):
                acc = np.nan
            elif abs(v) >= _FLAT:
                acc += 1.0 if v > 0 else -1.0
        m = acc / k
        if times is not None:
            v = times[i]
            if np.isnan(v):
                m = np.nan
            elif abs(v) < _FLAT:
                m = m * 0.0
            else:
                m = m * (1.0 if v > 0 else -1.0)
        out[i] = m


def _mean_sign(rows: Iterable[FloatArray], times: FloatArray | None = None) -> FloatArray:
    r = tuple(np.ascontiguousarray(a, dtype=np.float64) for a in rows)
    out = np.empty(r[0].shape[0])
    _mean_sign_into(r, None if times is None else np.ascontiguousarray(times, dtype=np.float64), out)
    return out


# ---------------------------------------------------------------- per-timeframe trend/momentum


def _trend_momentum(
    c: Candles, params: FeatureParams, win: Callable[[int], BoolArray] | None = None
) -> tuple[FloatArray, FloatArray]:
    close = c.close
    sma = _rolling_sum(close, params.trend_window) / params.trend_window
    with np.errstate(divide="ignore", invalid="ignore"):
        trend = close / sma - 1.0
    if win is None:
        win = WindowValidity(c.ts, c.timeframe).mask
    trend = _masked(trend, win(params.trend_window))
    k = params.momentum_lookback
    mom = _masked(_log_return(close, k), win(k + 1))
    return trend, mom


@njit(cache=True)
def _take_into(values: FloatArray, idx: IntArray, out: FloatArray) -> None:
    for i in range(idx.shape[0]):
        out[i] = values[idx[i]] if idx[i] >= 0 else np.nan


def _take(values: FloatArray, idx: IntArray) -> FloatArray:
    if values.shape[0] == 0:
        return np.full(idx.shape[0], np.nan)
    out = np.empty(idx.shape[0])
    _take_into(np.ascontiguousarray(values, dtype=np.float64), np.ascontiguousarray(idx, dtype=np.int64), out)
    return out


# ---------------------------------------------------------------- the feature set

# Calendar encodings by table lookup (7 weekdays, 1440 minutes of the day).
_DOW_SIN: Final = np.sin(np.arange(7) * (2.0 * math.pi / 7.0))
_DOW_COS: Final = np.cos(np.arange(7) * (2.0 * math.pi / 7.0))
_HOUR_SIN: Final = np.sin(np.arange(1440) / 60.0 * (2.0 * math.pi / 24.0))
_HOUR_COS: Final = np.cos(np.arange(1440) / 60.0 * (2.0 * math.pi / 24.0))


def compute_features(
    candles: Candles,
    params: FeatureParams = DEFAULT_PARAMS,
    higher: Mapping[Timeframe, Candles] | None = None,
) -> FeatureMatrix:
    """The full feature set for `candles` (see the module docstring). Pure and causal.

    `higher` optionally supplies closed higher-timeframe candles (e.g. exchange 1h bars); any
    configured higher timeframe not supplied is resampled from `candles` (complete buckets only).
    """
    tf = candles.timeframe
    ts = candles.ts
    h, lo, c, v = candles.high, candles.low, candles.close, candles.volume
    cols: dict[str, FloatArray] = {}

    win = WindowValidity(ts, tf).mask

    log_returns: dict[int, FloatArray] = {}  # each k-bar log return once (ret_1 is also the rv input)

    def log_return(k: int) -> FloatArray:
        if k not in log_returns:
            log_returns[k] = _masked(_log_return(c, k), win(k + 1))
        return log_returns[k]

    for k in params.return_lookbacks:
        cols[f"ret_{k}"] = log_return(k)

    with np.errstate(divide="ignore", invalid="ignore"):
        cols[f"atr_{params.atr_window}"] = _masked(atr(h, lo, c, params.atr_window) / c, win(params.atr_window + 1))

    r1 = log_return(1)
    rv: dict[int, FloatArray] = {}
    for w in params.vol_windows:
        _, sd = _rolling_mean_std(r1, w)
        rv[w] = _masked(sd, win(w + 1))
        cols[f"rv_{w}"] = rv[w]
    short, long_ = rv[min(params.vol_windows)], rv[max(params.vol_windows)]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(long_ > 0, short / long_, np.nan)
    ratio = np.where(np.isnan(short) | np.isnan(long_), np.nan, ratio)
    cols["vol_ratio"] = ratio
    regime = np.where(ratio < params.regime_low, -1.0, np.where(ratio > params.regime_high, 1.0, 0.0))
    cols["vol_regime"] = np.where(np.isnan(ratio), np.nan, regime)

    wz = params.volume_z_window
    lv = np.log1p(np.maximum(v, 0.0))
    mean, sd = _rolling_mean_std(lv, wz)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (lv - mean) / sd, 0.0)
    cols[f"volume_z_{wz}"] = _masked(np.where(np.isnan(mean), np.nan, z), win(wz))

    sw = params.spread_window
    spread_ok = win(sw + 1)
    cols[f"spread_cs_{sw}"] = _masked(rolling_corwin_schultz(h, lo, c, window=sw), spread_ok)
    cols[f"spread_ar_{sw}"] = _masked(rolling_abdi_ranaldo(h, lo, c, window=sw), spread_ok)

    masks = session_masks(ts)
    for s in Session:
        cols[f"session_{s.value}"] = masks[s].astype(np.float64)
    dow = day_of_week(ts)
    cols["dow_sin"] = _DOW_SIN[dow]
    cols["dow_cos"] = _DOW_COS[dow]
    # Time of day at the bar's close, in hours, so a 4h bar is placed when it is known.
    minute = ((ts + tf.ms) % MS_PER_DAY) // MS_PER_MINUTE
    cols["hour_sin"] = _HOUR_SIN[minute]
    cols["hour_cos"] = _HOUR_COS[minute]

    trend_base, mom_base = _trend_momentum(candles, params, win)
    cols[f"trend_{tf.value}"] = trend_base
    cols[f"mom_{tf.value}"] = mom_base
    higher_trends: list[FloatArray] = []
    moms: list[FloatArray] = [mom_base]
    trends: list[FloatArray] = [trend_base]
    supplied = dict(higher or {})
    for htf in higher_timeframes_for(params, tf):
        hc = supplied.get(htf)
        if hc is None:
            hc = resample(candles, htf, complete_only=True)
        elif hc.timeframe is not htf:
            raise ValueError(f"higher candles for {htf} have timeframe {hc.timeframe}")
        h_trend, h_mom = _trend_momentum(hc, params)
        idx = align_closed(hc, ts, tf)
        t_al, m_al = _take(h_trend, idx), _take(h_mom, idx)
        cols[f"trend_{htf.value}"] = t_al
        cols[f"mom_{htf.value}"] = m_al
        higher_trends.append(t_al)
        trends.append(t_al)
        moms.append(m_al)

    cols["mtf_alignment"] = _mean_sign(moms)
    cols["mtf_trend_alignment"] = _mean_sign(trends)
    if higher_trends:
        cols["mtf_convergence"] = _mean_sign(higher_trends, mom_base)
    else:
        cols["mtf_convergence"] = np.full(ts.shape[0], np.nan)

    names = tuple(cols)
    values = np.empty((ts.shape[0], len(names)))
    for j, name in enumerate(names):
        values[:, j] = cols[name]
    return FeatureMatrix(candles.symbol, tf.value, params.key(), ts, names, values)


def feature_names(params: FeatureParams = DEFAULT_PARAMS, timeframe: Timeframe = Timeframe.M5) -> tuple[str, ...]:
    """The column names `compute_features` produces for this base timeframe (without computing)."""
    probe = Candles(
        "BTC/USDT",
        timeframe,
        np.arange(2, dtype=np.int64) * timeframe.ms,
        np.ones(2),
        np.ones(2),
        np.ones(2),
        np.ones(2),
        np.ones(2),
    )
    return compute_features(probe, params).names


def input_fingerprint(candles: Candles) -> str:
    """sha256 of the candles' identity and every value (what the features were computed from)."""
    h = hashlib.sha256(f"{candles.symbol}|{candles.timeframe.value}|{len(candles)}".encode())
    for arr in (candles.ts, candles.open, candles.high, candles.low, candles.close, candles.volume):
        h.update(np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()


def build_key(params: FeatureParams, inputs: list[Candles]) -> str:
    """The feature-store version: hash of (code version, parameters, input data), 16 hex digits."""
    h = hashlib.sha256(params.key().encode())
    for c in sorted(inputs, key=lambda c: (c.symbol, c.timeframe.ms)):
        h.update(input_fingerprint(c).encode())
    return h.hexdigest()[:16]
