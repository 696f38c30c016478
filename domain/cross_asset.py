"""Cross-asset features: a leader's (BTC's) returns and volatility as inputs for another pair (ETH, BNB).

Causal by construction: the leader's bar with the same open time as the target's bar t closes at
the same instant, so it is known when bar t closes; a leader bar that is missing gives NaN (never
the previous bar's value). Every rolling window is computed from prefix sums over the aligned
series and is NaN when any bar inside it is missing on either side or the target's bars are not
consecutive, so a value at t is bit-for-bit independent of anything after t (the leakage guard
checks it, perturbing the target and the leader in turn).

Columns (prefix `x_`, leader named in the matrix's docs, not the names, so BTC-led ETH and BNB
share one schema):
- `x_ret_{k}`: the leader's log return over k bars, k in `return_lookbacks`;
- `x_rv_{w}`: std of the leader's 1-bar log returns over `vol_window` bars;
- `x_rel_{k}`: the target's log return over k bars minus the leader's (relative strength), k = `rel_lookback`;
- `x_corr_{w}`: correlation of the two 1-bar log-return series over `corr_window` bars.
"""

from __future__ import annotations

import attrs
import numpy as np

from domain.feature_matrix import FeatureMatrix
from domain.market import Candles, FloatArray


@attrs.frozen
class CrossAssetParams:
    return_lookbacks: tuple[int, ...] = (1, 3, 12)
    vol_window: int = 24
    rel_lookback: int = 12
    corr_window: int = 48

    def names(self) -> tuple[str, ...]:
        return (
            *(f"x_ret_{k}" for k in self.return_lookbacks),
            f"x_rv_{self.vol_window}",
            f"x_rel_{self.rel_lookback}",
            f"x_corr_{self.corr_window}",
        )

    def warmup_bars(self) -> int:
        return max(*self.return_lookbacks, self.vol_window, self.rel_lookback, self.corr_window) + 1


def _rolling_sum(x: FloatArray, w: int) -> FloatArray:
    """Sum of the last w values; NaN when any of them is NaN (prefix sums: causal bit for bit)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n < w:
        return out
    bad = ~np.isfinite(x)
    cs = np.concatenate(([0.0], np.cumsum(np.where(bad, 0.0, x))))
    cb = np.concatenate(([0], np.cumsum(bad, dtype=np.int64)))
    s = cs[w:] - cs[: n - w + 1]
    nb = cb[w:] - cb[: n - w + 1]
    out[w - 1 :] = np.where(nb == 0, s, np.nan)
    return out


def aligned_close(target: Candles, leader: Candles) -> FloatArray:
    """The leader's close at each target bar's open time (same timeframe), NaN where it has no such bar."""
    if leader.timeframe is not target.timeframe:
        raise ValueError(f"leader timeframe {leader.timeframe} differs from the target's {target.timeframe}")
    out = np.full(len(target), np.nan)
    if len(leader) == 0 or len(target) == 0:
        return out
    pos = np.clip(np.searchsorted(leader.ts, target.ts), 0, len(leader) - 1)
    hit = leader.ts[pos] == target.ts
    out[hit] = leader.close[pos[hit]]
    return out


def _one_bar_log_returns(close: FloatArray, ts: np.ndarray, period_ms: int) -> FloatArray:
    """log(close[t] / close[t-1]) where bar t-1 is the bar right before t; NaN otherwise."""
    n = close.shape[0]
    r = np.full(n, np.nan)
    if n > 1:
        with np.errstate(divide="ignore", invalid="ignore"):
            r[1:] = np.log(close[1:] / close[:-1])
        r[1:][np.diff(ts) != period_ms] = np.nan
    return r


def cross_asset_features(
    target: Candles, leader: Candles, params: CrossAssetParams = CrossAssetParams()
) -> FeatureMatrix:
    """The cross-asset columns for `target` led by `leader`, one row per target bar."""
    period = target.timeframe.ms
    lc = aligned_close(target, leader)
    rl = _one_bar_log_returns(lc, target.ts, period)
    rt = _one_bar_log_returns(target.close, target.ts, period)
    cols: list[FloatArray] = [_rolling_sum(rl, k) for k in params.return_lookbacks]
    w = params.vol_window
    s1, s2 = _rolling_sum(rl, w), _rolling_sum(rl * rl, w)
    cols.append(np.sqrt(np.maximum(s2 / w - (s1 / w) ** 2, 0.0)))
    k = params.rel_lookback
    cols.append(_rolling_sum(rt, k) - _rolling_sum(rl, k))
    wc = params.corr_window
    both = np.where(np.isfinite(rl) & np.isfinite(rt), 1.0, np.nan)
    a, b = rt * both, rl * both
    sa, sb = _rolling_sum(a, wc), _rolling_sum(b, wc)
    saa, sbb, sab = _rolling_sum(a * a, wc), _rolling_sum(b * b, wc), _rolling_sum(a * b, wc)
    cov = sab / wc - sa * sb / wc**2
    va = saa / wc - (sa / wc) ** 2
    vb = sbb / wc - (sb / wc) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where((va > 0) & (vb > 0), cov / np.sqrt(va * vb), np.nan)
    cols.append(np.clip(corr, -1.0, 1.0))
    values = np.column_stack(cols) if cols else np.zeros((len(target), 0))
    return FeatureMatrix(target.symbol, target.timeframe.value, f"x:{leader.symbol}", target.ts, params.names(), values)


def with_columns(base: FeatureMatrix, extra: FeatureMatrix) -> FeatureMatrix:
    """`base` with `extra`'s columns appended (same rows)."""
    if not np.array_equal(base.ts, extra.ts):
        raise ValueError("feature matrices cover different bars")
    return FeatureMatrix(
        base.pair,
        base.timeframe,
        f"{base.version}+{extra.version}",
        base.ts,
        (*base.names, *extra.names),
        np.hstack((base.values, extra.values)),
    )
