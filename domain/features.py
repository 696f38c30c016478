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
from collections.abc import Mapping
from typing import Final

import attrs
import numpy as np
from numba import njit

from domain.feature_matrix import FeatureMatrix
from domain.market import (
    MS_PER_DAY,
    MS_PER_HOUR,
    MS_PER_MINUTE,
    BoolArray,
    Candles,
    FloatArray,
    IntArray,
    Session,
    Timeframe,
    session_hour_table,
    true_range_at,
    weekday_of_day,
)
from domain.resample import complete_closes, complete_closes_into
from domain.spread_estimators import add_finite, two_bar_terms

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


def _masked(values: FloatArray, valid: BoolArray) -> FloatArray:
    return np.where(valid, values, np.nan)


# Below this magnitude a trend/momentum counts as flat. Prefix sums over different history lengths
# (a live tail vs a full backfill) differ by ~1e-12 relative, which must not flip a sign.
_FLAT: Final = 1e-9


# ---------------------------------------------------------------- per-timeframe trend/momentum


@njit(cache=True)
def _higher_closes_into(
    ts: IntArray,
    close: FloatArray,
    periods: IntArray,
    pers: IntArray,
    h_ts: IntArray,
    h_c: FloatArray,
    h_offset: IntArray,
) -> None:
    """The complete-bucket open times and closes of each higher timeframe (`complete_closes`, period
    periods[q] of pers[q] base bars), back to back in h_ts/h_c from h_offset[q] (room for the sum
    of len(ts) // pers[q]); h_offset[q + 1] ends each."""
    off = 0
    h_offset[0] = 0
    for q in range(periods.shape[0]):
        off += complete_closes_into(ts, close, periods[q], pers[q], h_ts[off:], h_c[off:])
        h_offset[q + 1] = off


@njit(cache=True, error_model="numpy")  # a division by zero gives inf/NaN, as numpy's
def _log_inputs_into(
    close: FloatArray,
    ks: IntArray,
    h_ts: IntArray,
    h_c: FloatArray,
    h_offset: IntArray,
    h_ms: IntArray,
    trend_window: int,
    mom_k: int,
    ratio: FloatArray,
    h_trend: FloatArray,
    h_mom_ok: BoolArray,
    h_close_ms: IntArray,
    scratch: FloatArray,
) -> None:
    """What the feature pass needs besides numpy's logs: ratio[r * n + i] := close[i] / close[i - ks[r]]
    (NaN for i < ks[r]), the base log returns' arguments; then per higher timeframe q (segment
    h_offset[q] .. h_offset[q + 1] of h_ts/h_c, bar length h_ms[q]) its trend close / SMA(trend_window)
    - 1 (NaN unless `WindowValidity.mask(trend_window)`), its momentum ratio close[j] / close[j - mom_k]
    in ratio[len(ks) * n + j] with h_mom_ok[j] = `WindowValidity.mask(mom_k + 1)`, and its bars' close
    times. The SMA is `_rolling_sums_into`'s, then the same division by the window as numpy's."""
    n = close.shape[0]
    for r in range(ks.shape[0]):
        k = ks[r]
        base = r * n
        for i in range(n):
            ratio[base + i] = close[i] / close[i - k] if i >= k else np.nan
    hr = ks.shape[0] * n
    for q in range(h_ms.shape[0]):
        a = h_offset[q]
        b = h_offset[q + 1]
        seg = h_c[a:b]
        sums = h_trend[a:b]
        _rolling_sums_into(seg, trend_window, sums, scratch[a:b], False)
        period = h_ms[q]
        last_gap = 0  # latest bar j with ts[j] - ts[j - 1] != period (0: none yet)
        for j in range(b - a):
            g = a + j
            if j > 0 and h_ts[g] - h_ts[g - 1] != period:
                last_gap = j
            x = seg[j]
            if j >= trend_window - 1 and last_gap <= j - trend_window + 1:
                h_trend[g] = x / (sums[j] / trend_window) - 1.0
            else:
                h_trend[g] = np.nan
            ratio[hr + g] = x / seg[j - mom_k] if j >= mom_k else np.nan
            h_mom_ok[g] = j >= mom_k and last_gap <= j - mom_k
            h_close_ms[g] = h_ts[g] + period


# ---------------------------------------------------------------- the feature set

# Calendar encodings by table lookup (7 weekdays, 1440 minutes of the day).
_SESSION_HOURS_TABLE: Final = session_hour_table()  # the feature pass's session_* columns per UTC hour
_DOW_SIN: Final = np.sin(np.arange(7) * (2.0 * math.pi / 7.0))
_DOW_COS: Final = np.cos(np.arange(7) * (2.0 * math.pi / 7.0))
_HOUR_SIN: Final = np.sin(np.arange(1440) / 60.0 * (2.0 * math.pi / 24.0))
_HOUR_COS: Final = np.cos(np.arange(1440) / 60.0 * (2.0 * math.pi / 24.0))


@njit(cache=True)
def _ring(window: int) -> int:
    """Size of a ring of prefix sums for `window`: a power of two >= window + 1 (indexed by `& (size - 1)`)."""
    size = 1
    while size < window + 1:
        size *= 2
    return size


@njit(cache=True)
def _sign_of(v: float) -> float:
    """`_sign` of one value: NaN stays NaN, |v| < `_FLAT` is 0.0, else -1.0 or +1.0."""
    if np.isnan(v):
        return np.nan
    if abs(v) < _FLAT:
        return 0.0
    return 1.0 if v > 0 else -1.0


@njit(cache=True, inline="always", error_model="numpy")
def _ring_mean_sd(
    i: int, w: int, mask: int, p1: float, p2: float, pb: int, c1: FloatArray, c2: FloatArray, cb: IntArray
) -> tuple[float, float]:
    """Mean and sample std of the last `w` values at row i from rings of prefix sums (sum, sum of
    squares, count of bad values; slot k & mask): NaN unless all w are good; std 0 for w == 1."""
    s1 = np.nan
    s2 = np.nan
    if i >= w - 1:
        o = (i + 1 - w) & mask
        if pb - cb[o] == 0:
            s1 = p1 - c1[o]
            s2 = p2 - c2[o]
    m = s1 / w
    if w == 1:
        return m, 0.0
    var = (s2 - s1 * m) / (w - 1)
    if var < 0.0:
        var = 0.0
    return m, np.sqrt(var)


@njit(cache=True, inline="always")
def _add_moments(x: float, p1: float, p2: float, bad: int) -> tuple[float, float, int]:
    """One value into running sums of x and x^2 over the finite values; a non-finite one adds 0.0 (as
    a prefix sum over zeros would) and is counted in `bad`."""
    if np.isfinite(x):
        return p1 + x, p2 + x * x, bad
    return p1 + 0.0, p2 + 0.0, bad + 1


@njit(cache=True, error_model="numpy")  # a division by zero gives inf/NaN, as numpy's
def _features_into(
    ts: IntArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    tf_ms: int,
    log_ret: FloatArray,
    ks: IntArray,
    n_ret: int,
    r1_row: int,
    mom_row: int,
    atr_window: int,
    vol_windows: IntArray,
    lv: FloatArray,
    vz_window: int,
    cs: FloatArray,
    ar: FloatArray,
    spread_window: int,
    in_session: FloatArray,
    trend_window: int,
    h_trend: FloatArray,
    h_mom: FloatArray,
    h_offset: IntArray,
    h_close: IntArray,
    h_age: IntArray,
    regime_low: float,
    regime_high: float,
    first: int,
    out: FloatArray,
) -> None:
    """out[i - first, :] := the feature row of bar i >= first, in `_feature_names` order, in one pass
    over the bars (the rows before `first` advance the rolling sums but are not written).

    Value for value the arithmetic of the array code it replaces: the rolling sums are prefix sums
    accumulated in index order and differenced over the window (`_rolling_sums_into`: finite values
    only, a non-finite one spoils the windows holding it; the ATR's plainly, as np.cumsum), then
    the same divisions, clamps and square roots; a column is NaN wherever `WindowValidity.mask` is
    False for its window (tracked here as the latest bar after a gap). The log returns (row r of
    `log_ret` over ks[r] bars, not yet masked), log(1 + volume) and the per-bar spread terms come
    computed by numpy; `h_trend`/`h_mom`/`h_close` hold each higher timeframe's values and bar
    close times back to back (`h_offset`), `h_age` the age (ms) past which its latest closed bar is
    stale (`align_closed` with stale_after=1)."""
    n = ts.shape[0]
    n_vol = vol_windows.shape[0]
    n_h = h_offset.shape[0] - 1
    n_mom = n_h + 1
    w_short = vol_windows[0]
    w_long = vol_windows[0]
    for q in range(n_vol):
        w_short = min(w_short, vol_windows[q])
        w_long = max(w_long, vol_windows[q])
    # realised volatility: prefix sums of the masked 1-bar log return and its square
    rv_m = _ring(w_long) - 1
    rv_c1 = np.zeros(rv_m + 1)
    rv_c2 = np.zeros(rv_m + 1)
    rv_cb = np.zeros(rv_m + 1, dtype=np.int64)
    rv_p1 = 0.0
    rv_p2 = 0.0
    rv_pb = 0
    # ATR: plain prefix sums of the true range
    at_m = _ring(atr_window) - 1
    at_c = np.zeros(at_m + 1)
    at_p = 0.0
    # volume z-score: prefix sums of log(1 + volume) and its square
    vz_m = _ring(vz_window) - 1
    vz_c1 = np.zeros(vz_m + 1)
    vz_c2 = np.zeros(vz_m + 1)
    vz_cb = np.zeros(vz_m + 1, dtype=np.int64)
    vz_p1 = 0.0
    vz_p2 = 0.0
    vz_pb = 0
    # spreads: prefix sums and counts of the finite per-bar terms
    sp_m = _ring(spread_window) - 1
    cs_c = np.zeros(sp_m + 1)
    cs_k = np.zeros(sp_m + 1, dtype=np.int64)
    cs_p = 0.0
    cs_pk = 0
    ar_c = np.zeros(sp_m + 1)
    ar_k = np.zeros(sp_m + 1, dtype=np.int64)
    ar_p = 0.0
    ar_pk = 0
    # trend: prefix sums of the close
    tr_m = _ring(trend_window) - 1
    tr_c = np.zeros(tr_m + 1)
    tr_cb = np.zeros(tr_m + 1, dtype=np.int64)
    tr_p = 0.0
    tr_pb = 0
    # higher timeframes: the signs of their trend/momentum per higher bar, a walk pointer each
    h_tsign = np.empty(h_trend.shape[0])
    h_msign = np.empty(h_mom.shape[0])
    for q in range(h_trend.shape[0]):
        h_tsign[q] = _sign_of(h_trend[q])
        h_msign[q] = _sign_of(h_mom[q])
    h_ptr = np.zeros(n_h, dtype=np.int64)
    n_sess = in_session.shape[0]  # 1.0 / 0.0 per session and UTC hour (domain.market.session_hour_table)
    day0 = 0
    dow = 0
    last_gap = 0  # latest bar i with ts[i] - ts[i - 1] != tf_ms (0: none yet; bar 0 never is)
    for i in range(n):
        if i > 0 and ts[i] - ts[i - 1] != tf_ms:
            last_gap = i
        # The prefix sums advance on every bar (row i's windows difference them); rows before
        # `first` are not written.
        # ATR: true range (the first bar's from its own close)
        tr = true_range_at(high[i], low[i], close[i - 1] if i > 0 else close[0])
        at_p = at_p + tr
        at_c[(i + 1) & at_m] = at_p
        # realised volatility: the masked 1-bar log return
        x = log_ret[r1_row, i] if i >= 1 and last_gap <= i - 1 else np.nan
        rv_p1, rv_p2, rv_pb = _add_moments(x, rv_p1, rv_p2, rv_pb)
        s = (i + 1) & rv_m
        rv_c1[s] = rv_p1
        rv_c2[s] = rv_p2
        rv_cb[s] = rv_pb
        # volume z-score: log(1 + volume)
        x_vz = lv[i]
        vz_p1, vz_p2, vz_pb = _add_moments(x_vz, vz_p1, vz_p2, vz_pb)
        s = (i + 1) & vz_m
        vz_c1[s] = vz_p1
        vz_c2[s] = vz_p2
        vz_cb[s] = vz_pb
        # spreads: the finite per-bar terms
        cs_p, cs_pk = add_finite(cs[i], cs_p, cs_pk)
        s = (i + 1) & sp_m
        cs_c[s] = cs_p
        cs_k[s] = cs_pk
        ar_p, ar_pk = add_finite(ar[i], ar_p, ar_pk)
        ar_c[s] = ar_p
        ar_k[s] = ar_pk
        # trend: the close
        x_tr = close[i]
        if np.isfinite(x_tr):
            tr_p = tr_p + x_tr
        else:
            tr_p = tr_p + 0.0
            tr_pb += 1
        s = (i + 1) & tr_m
        tr_c[s] = tr_p
        tr_cb[s] = tr_pb
        if i < first:
            continue
        row = out[i - first]
        j = 0
        # ret_k
        for r in range(n_ret):
            k = ks[r]
            ok = i >= k and last_gap <= i - k
            row[j] = log_ret[r, i] if ok else np.nan
            j += 1
        # atr_w: the rolling mean of the true range over the close
        v = np.nan
        if i >= atr_window - 1:
            v = (at_p - at_c[(i + 1 - atr_window) & at_m]) / atr_window / close[i]
        row[j] = v if i >= atr_window and last_gap <= i - atr_window else np.nan
        j += 1
        # rv_w, vol_ratio, vol_regime
        short = np.nan
        long_ = np.nan
        for q in range(n_vol):
            w = vol_windows[q]
            m, sd = _ring_mean_sd(i, w, rv_m, rv_p1, rv_p2, rv_pb, rv_c1, rv_c2, rv_cb)
            if not (i >= w and last_gap <= i - w):
                sd = np.nan
            if w == w_short:
                short = sd
            if w == w_long:
                long_ = sd
            row[j] = sd
            j += 1
        ratio = short / long_ if long_ > 0 else np.nan
        if np.isnan(short) or np.isnan(long_):
            ratio = np.nan
        row[j] = ratio
        j += 1
        if np.isnan(ratio):
            row[j] = np.nan
        elif ratio < regime_low:
            row[j] = -1.0
        elif ratio > regime_high:
            row[j] = 1.0
        else:
            row[j] = 0.0
        j += 1
        # volume_z_w
        m, sd = _ring_mean_sd(i, vz_window, vz_m, vz_p1, vz_p2, vz_pb, vz_c1, vz_c2, vz_cb)
        z = (x_vz - m) / sd if sd > 0 else 0.0
        if np.isnan(m) or not (i >= vz_window - 1 and last_gap <= i - vz_window + 1):
            z = np.nan
        row[j] = z
        j += 1
        # spread_cs_w, spread_ar_w: rolling means of the finite per-bar terms (all `window` of them)
        spread_ok = i >= spread_window and last_gap <= i - spread_window
        v = np.nan
        if i >= spread_window - 1:
            o = (i + 1 - spread_window) & sp_m
            cnt = cs_pk - cs_k[o]
            if cnt >= spread_window:
                v = (cs_p - cs_c[o]) / cnt
        row[j] = v if spread_ok else np.nan
        j += 1
        v = np.nan
        if i >= spread_window - 1:
            o = (i + 1 - spread_window) & sp_m
            cnt = ar_pk - ar_k[o]
            if cnt >= spread_window:
                v = (ar_p - ar_c[o]) / cnt
                v = np.sqrt(v if v >= 0.0 else 0.0)
        row[j] = v if spread_ok else np.nan
        j += 1
        # session_*, dow_*, hour_* (as `session_masks`, `day_of_week`; the hour at the bar's close):
        # the UTC day is divided out when a bar leaves the previous bar's day, t % MS_PER_DAY is t - day0
        t = ts[i]
        if i == first or t < day0 or t >= day0 + MS_PER_DAY:
            day = t // MS_PER_DAY
            day0 = day * MS_PER_DAY
            dow = weekday_of_day(day)
        ms = t - day0
        hour = ms // MS_PER_HOUR
        for q in range(n_sess):
            row[j + q] = in_session[q, hour]
        j += n_sess
        row[j] = _DOW_SIN[dow]
        row[j + 1] = _DOW_COS[dow]
        minute = ((ms + tf_ms) % MS_PER_DAY) // MS_PER_MINUTE
        row[j + 2] = _HOUR_SIN[minute]
        row[j + 3] = _HOUR_COS[minute]
        j += 4
        # trend_{base}, mom_{base}: close / SMA - 1 and the momentum log return
        s1 = np.nan
        if i >= trend_window - 1:
            o = (i + 1 - trend_window) & tr_m
            if tr_pb - tr_cb[o] == 0:
                s1 = tr_p - tr_c[o]
        trend = x_tr / (s1 / trend_window) - 1.0
        if not (i >= trend_window - 1 and last_gap <= i - trend_window + 1):
            trend = np.nan
        k = ks[mom_row]
        mom = log_ret[mom_row, i] if i >= k and last_gap <= i - k else np.nan
        row[j] = trend
        row[j + 1] = mom
        j += 2
        # trend_{htf}, mom_{htf} (the latest closed higher bar), then the sign means over timeframes
        mom_acc = 0.0
        trend_acc = 0.0
        higher_acc = 0.0
        sv = _sign_of(mom)
        mom_acc = np.nan if np.isnan(sv) else mom_acc + sv
        sv = _sign_of(trend)
        trend_acc = np.nan if np.isnan(sv) else trend_acc + sv
        # (the closed-bar walk of `align_closed`, stale_after=1, one pointer per higher timeframe)
        b_close = ts[i] + tf_ms
        restart = i > 0 and b_close < ts[i - 1] + tf_ms
        for hh in range(n_h):
            off = h_offset[hh]
            m_h = h_offset[hh + 1] - off
            p = 0 if restart else h_ptr[hh]
            while p < m_h and h_close[off + p] <= b_close:
                p += 1
            h_ptr[hh] = p
            hk = off + p - 1
            ht = np.nan
            hm = np.nan
            st = np.nan
            sm = np.nan
            if p >= 1 and b_close - h_close[hk] < h_age[hh]:
                ht = h_trend[hk]
                hm = h_mom[hk]
                st = h_tsign[hk]
                sm = h_msign[hk]
            row[j] = ht
            row[j + 1] = hm
            j += 2
            mom_acc = np.nan if np.isnan(sm) else mom_acc + sm
            trend_acc = np.nan if np.isnan(st) else trend_acc + st
            higher_acc = np.nan if np.isnan(st) else higher_acc + st
        row[j] = mom_acc / n_mom
        row[j + 1] = trend_acc / n_mom
        if n_h == 0:
            row[j + 2] = np.nan
        else:
            m = higher_acc / n_h
            if np.isnan(mom):
                m = np.nan
            elif abs(mom) < _FLAT:
                m = m * 0.0
            else:
                m = m * (1.0 if mom > 0 else -1.0)
            row[j + 2] = m
        j += 3


def _feature_names(params: FeatureParams, tf: Timeframe, higher: list[Timeframe]) -> tuple[str, ...]:
    """The columns, in the order `_features_into` writes them (duplicate windows give one column)."""
    names = [f"ret_{k}" for k in dict.fromkeys(params.return_lookbacks)]
    names.append(f"atr_{params.atr_window}")
    names += [f"rv_{w}" for w in dict.fromkeys(params.vol_windows)]
    names += ["vol_ratio", "vol_regime", f"volume_z_{params.volume_z_window}"]
    names += [f"spread_cs_{params.spread_window}", f"spread_ar_{params.spread_window}"]
    names += [f"session_{s.value}" for s in Session]
    names += ["dow_sin", "dow_cos", "hour_sin", "hour_cos", f"trend_{tf.value}", f"mom_{tf.value}"]
    for htf in higher:
        names += [f"trend_{htf.value}", f"mom_{htf.value}"]
    names += ["mtf_alignment", "mtf_trend_alignment", "mtf_convergence"]
    return tuple(names)


@attrs.frozen
class _Layout:
    """What `compute_features` derives from the parameters and the base timeframe alone (memoised:
    the live cycle computes features for the same ones every bar)."""

    higher: tuple[Timeframe, ...]
    names: tuple[str, ...]
    ks: IntArray  # the log-return lookbacks: return_lookbacks (deduplicated), then 1 and momentum_lookback
    n_ret: int
    r1_row: int
    mom_row: int
    vol_windows: IntArray
    h_ms: IntArray
    h_per: IntArray  # base bars per higher bar


_LAYOUTS: dict[tuple[FeatureParams, Timeframe], _Layout] = {}


def _layout(params: FeatureParams, tf: Timeframe) -> _Layout:
    hit = _LAYOUTS.get((params, tf))
    if hit is None:
        htfs = higher_timeframes_for(params, tf)
        ks = list(dict.fromkeys(params.return_lookbacks))
        n_ret = len(ks)
        for k in (1, params.momentum_lookback):
            if k not in ks:
                ks.append(k)
        hit = _LAYOUTS[(params, tf)] = _Layout(
            tuple(htfs),
            _feature_names(params, tf, htfs),
            np.asarray(ks, dtype=np.int64),
            n_ret,
            ks.index(1),
            ks.index(params.momentum_lookback),
            np.asarray(list(dict.fromkeys(params.vol_windows)), dtype=np.int64),
            np.asarray([htf.ms for htf in htfs], dtype=np.int64),
            np.asarray([htf.ms // tf.ms for htf in htfs], dtype=np.int64),
        )
    return hit


def _higher_closes(
    candles: Candles, lay: _Layout, higher: Mapping[Timeframe, Candles] | None
) -> tuple[IntArray, FloatArray, IntArray]:
    """Each higher timeframe's bar open times and closes back to back, and where each one starts:
    supplied bars where `higher` has them, else the complete buckets of `candles` (`complete_closes`)."""
    supplied = dict(higher or {})
    if not any(htf in supplied for htf in lay.higher):  # all resampled: one compiled call
        n = len(candles)
        room = int(sum(n // int(p) for p in lay.h_per))
        h_ts, h_c = np.empty(room, dtype=np.int64), np.empty(room)
        h_offset = np.empty(len(lay.higher) + 1, dtype=np.int64)
        _higher_closes_into(
            np.ascontiguousarray(candles.ts),
            np.ascontiguousarray(candles.close),
            lay.h_ms,
            lay.h_per,
            h_ts,
            h_c,
            h_offset,
        )
        return h_ts, h_c, h_offset
    parts: list[tuple[IntArray, FloatArray]] = []
    for htf in lay.higher:
        hc = supplied.get(htf)
        if hc is None:
            parts.append(complete_closes(candles, htf))  # the bars of resample(candles, htf) that count
        elif hc.timeframe is not htf:
            raise ValueError(f"higher candles for {htf} have timeframe {hc.timeframe}")
        else:
            parts.append((hc.ts, hc.close))
    h_offset = np.zeros(len(parts) + 1, dtype=np.int64)
    h_offset[1:] = np.cumsum([t.shape[0] for t, _ in parts], dtype=np.int64)
    return (
        np.ascontiguousarray(np.concatenate([t for t, _ in parts]), dtype=np.int64),
        np.ascontiguousarray(np.concatenate([c for _, c in parts]), dtype=np.float64),
        h_offset,
    )


def compute_features(
    candles: Candles,
    params: FeatureParams = DEFAULT_PARAMS,
    higher: Mapping[Timeframe, Candles] | None = None,
    last: int | None = None,
) -> FeatureMatrix:
    """The full feature set for `candles` (see the module docstring). Pure and causal.

    `higher` optionally supplies closed higher-timeframe candles (e.g. exchange 1h bars); any
    configured higher timeframe not supplied is resampled from `candles` (complete buckets only).
    `last` keeps only the newest `last` rows (all of them when None or more than there are): the
    values those rows have in the whole matrix, bit for bit (the pass still runs its rolling sums
    from the first bar; it only skips computing and writing the rows before), for a caller that
    reads no more (the live cycle's networks read their last window).
    """
    tf = candles.timeframe
    lay = _layout(params, tf)
    ts = np.ascontiguousarray(candles.ts, dtype=np.int64)
    n = ts.shape[0]
    h, lo, c, v = (
        np.ascontiguousarray(a, dtype=np.float64) for a in (candles.high, candles.low, candles.close, candles.volume)
    )
    h_ts, h_c, h_offset = _higher_closes(candles, lay, higher)

    # What needs a transcendental function is computed by numpy (log returns, log(1 + volume), the
    # spread terms), so each value is bit for bit numpy's; the rest is compiled: the ratios the logs
    # take and the higher timeframes' trends before them, everything else in one pass after.
    n_h = h_c.shape[0]
    n_log = lay.ks.shape[0] * n
    ratio = np.empty(n_log + n_h)
    h_trend = np.empty(n_h)
    h_mom_ok = np.empty(n_h, dtype=np.bool_)
    h_close_ms = np.empty(n_h, dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):  # (numpy scalars when NUMBA_DISABLE_JIT=1)
        _log_inputs_into(
            c,
            lay.ks,
            h_ts,
            h_c,
            h_offset,
            lay.h_ms,
            int(params.trend_window),
            int(params.momentum_lookback),
            ratio,
            h_trend,
            h_mom_ok,
            h_close_ms,
            np.empty(n_h),
        )
        np.log(ratio, out=ratio)
        lv = np.log1p(np.maximum(v, 0.0))
    log_ret = ratio[:n_log].reshape(lay.ks.shape[0], n)
    h_mom = _masked(ratio[n_log:], h_mom_ok)
    cs, ar = two_bar_terms(h, lo, c)  # corwin_schultz (negatives zero), abdi_ranaldo_squared

    if last is not None and last < 0:
        raise ValueError(f"last must be >= 0 or None, got {last}")
    first = n - min(n, last) if last is not None else 0
    values = np.empty((n - first, len(lay.names)))
    with np.errstate(divide="ignore", invalid="ignore"):  # (numpy scalars when NUMBA_DISABLE_JIT=1)
        _features_into(
            ts,
            h,
            lo,
            c,
            int(tf.ms),
            log_ret,
            lay.ks,
            lay.n_ret,
            lay.r1_row,
            lay.mom_row,
            int(params.atr_window),
            lay.vol_windows,
            lv,
            int(params.volume_z_window),
            cs,
            ar,
            int(params.spread_window),
            _SESSION_HOURS_TABLE,
            int(params.trend_window),
            h_trend,
            h_mom,
            h_offset,
            h_close_ms,
            lay.h_ms,
            float(params.regime_low),
            float(params.regime_high),
            first,
            values,
        )
    return FeatureMatrix(candles.symbol, tf.value, params.key(), ts[first:], lay.names, values)


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
