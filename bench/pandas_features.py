"""A straightforward pandas-rolling implementation of the same feature set (the benchmark baseline).

Written the way one would without thinking about speed: `rolling().mean()/.std()`, `resample()`
and `reindex(method="ffill")`. On gap-free data it gives the same values as
`domain.features.compute_features` (the test suite checks it); gap masking is not reproduced.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from domain.features import DEFAULT_PARAMS, FeatureParams, higher_timeframes_for
from domain.market import Candles


def _frame(c: Candles) -> pd.DataFrame:
    idx = pd.to_datetime(c.ts, unit="ms", utc=True)
    return pd.DataFrame({"open": c.open, "high": c.high, "low": c.low, "close": c.close, "volume": c.volume}, index=idx)


def _sign(x: pd.Series) -> pd.Series:
    return pd.Series(np.where(x.abs() < 1e-9, 0.0, np.sign(x)), index=x.index)


def _trend_mom(close: pd.Series, p: FeatureParams) -> tuple[pd.Series, pd.Series]:
    trend = close / close.rolling(p.trend_window).mean() - 1.0
    mom = np.log(close / close.shift(p.momentum_lookback))
    return trend, mom


def pandas_features(c: Candles, p: FeatureParams = DEFAULT_PARAMS) -> pd.DataFrame:
    df = _frame(c)
    close, high, low, vol = df["close"], df["high"], df["low"], df["volume"]
    out = pd.DataFrame(index=df.index)
    for k in p.return_lookbacks:
        out[f"ret_{k}"] = np.log(close / close.shift(k))
    prev = close.shift(1)
    tr = pd.concat([high - low, (high - prev).abs(), (low - prev).abs()], axis=1).max(axis=1, skipna=False)
    out[f"atr_{p.atr_window}"] = tr.rolling(p.atr_window).mean() / close
    r1 = np.log(close / prev)
    rv = {w: r1.rolling(w).std() for w in p.vol_windows}
    for w in p.vol_windows:
        out[f"rv_{w}"] = rv[w]
    short, long_ = rv[min(p.vol_windows)], rv[max(p.vol_windows)]
    ratio = (short / long_).where(long_ > 0)
    out["vol_ratio"] = ratio
    regime = pd.Series(0.0, index=df.index).mask(ratio < p.regime_low, -1.0).mask(ratio > p.regime_high, 1.0)
    out["vol_regime"] = regime.where(ratio.notna())
    lv = np.log1p(vol.clip(lower=0))
    m, s = lv.rolling(p.volume_z_window).mean(), lv.rolling(p.volume_z_window).std()
    out[f"volume_z_{p.volume_z_window}"] = ((lv - m) / s).where(s > 0, 0.0).where(m.notna())

    # Corwin-Schultz with the overnight adjustment, negatives set to 0, then averaged.
    h0, l0, pc = high.shift(1), low.shift(1), close.shift(1)
    up = (low - pc).clip(lower=0)
    down = (pc - high).clip(lower=0)
    h1, l1 = high + down - up, low + down - up
    beta = np.log(h0 / l0) ** 2 + np.log(h1 / l1) ** 2
    gamma = np.log(np.maximum(h0, h1) / np.minimum(l0, l1)) ** 2
    kcs = 3.0 - 2.0 * math.sqrt(2.0)
    alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / kcs - np.sqrt(gamma / kcs)
    cs = (2.0 * (np.exp(alpha) - 1.0) / (1.0 + np.exp(alpha))).clip(lower=0)
    sw = p.spread_window
    out[f"spread_cs_{sw}"] = cs.rolling(sw).mean()
    eta = 0.5 * (np.log(high) + np.log(low))
    lc = np.log(close)
    s2 = 4.0 * (lc.shift(1) - eta.shift(1)) * (lc.shift(1) - eta)
    out[f"spread_ar_{sw}"] = np.sqrt(s2.rolling(sw).mean().clip(lower=0))

    hour = df.index.hour
    out["session_tokyo"] = ((hour >= 0) & (hour < 9)).astype(float)
    out["session_london"] = ((hour >= 7) & (hour < 16)).astype(float)
    out["session_new_york"] = ((hour >= 12) & (hour < 21)).astype(float)
    dow = df.index.day_of_week.to_numpy().astype(float)
    out["dow_sin"] = np.sin(dow * 2 * math.pi / 7)
    out["dow_cos"] = np.cos(dow * 2 * math.pi / 7)
    close_time = df.index + pd.Timedelta(milliseconds=c.timeframe.ms)
    hod = close_time.hour + close_time.minute / 60.0
    out["hour_sin"] = np.sin(hod.to_numpy() * 2 * math.pi / 24)
    out["hour_cos"] = np.cos(hod.to_numpy() * 2 * math.pi / 24)

    trend, mom = _trend_mom(close, p)
    tfname = c.timeframe.value
    out[f"trend_{tfname}"], out[f"mom_{tfname}"] = trend, mom
    moms, trends, higher_trends = [mom], [trend], []
    for htf in higher_timeframes_for(p, c.timeframe):
        rule = f"{htf.minutes}min"
        agg = df.resample(rule, label="left", closed="left").agg(
            {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
        )
        count = df["close"].resample(rule, label="left", closed="left").count()
        agg = agg[count == htf.ms // c.timeframe.ms]
        h_trend, h_mom = _trend_mom(agg["close"], p)
        shifted = pd.DataFrame({"t": h_trend, "m": h_mom})
        shifted.index = shifted.index + pd.Timedelta(milliseconds=htf.ms)
        aligned = shifted.reindex(close_time, method="ffill", tolerance=pd.Timedelta(milliseconds=htf.ms - 1))
        t_al = pd.Series(aligned["t"].to_numpy(), index=df.index)
        m_al = pd.Series(aligned["m"].to_numpy(), index=df.index)
        out[f"trend_{htf.value}"], out[f"mom_{htf.value}"] = t_al, m_al
        moms.append(m_al)
        trends.append(t_al)
        higher_trends.append(t_al)
    out["mtf_alignment"] = pd.concat([_sign(x) for x in moms], axis=1).mean(axis=1, skipna=False)
    out["mtf_trend_alignment"] = pd.concat([_sign(x) for x in trends], axis=1).mean(axis=1, skipna=False)
    if higher_trends:
        mean_h = pd.concat([_sign(x) for x in higher_trends], axis=1).mean(axis=1, skipna=False)
        out["mtf_convergence"] = _sign(mom) * mean_h
    else:
        out["mtf_convergence"] = np.nan
    return out
