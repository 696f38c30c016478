"""Labels that match the trade (domain.labels) and cross-asset features (domain.cross_asset).

Mechanics on SYNTHETIC bars where stated; causality checked on the real Binance candles with the
project's leakage guard, perturbing the target and, in turn, the leader."""

from __future__ import annotations

import numpy as np
import pytest

from adapters.market_data.bundled import BundledCandles
from domain import labels
from domain.cross_asset import CrossAssetParams, cross_asset_features, with_columns
from domain.features import compute_features, warmup_bars
from domain.leakage import check_leakage, default_cuts
from domain.market import Candles, Timeframe
from domain.trade_resolution import first_exit

H = Timeframe.H1.ms


def _bars(close: list[float], spread: float = 0.5, ts: list[int] | None = None) -> Candles:
    c = np.asarray(close, dtype=np.float64)  # SYNTHETIC: open = previous close, high/low +- spread
    o = np.concatenate(([c[0]], c[:-1]))
    t = np.asarray(ts if ts is not None else range(len(c)), dtype=np.int64) * H
    return Candles(
        "TST/USDT", Timeframe.H1, t, o, np.maximum(o, c) + spread, np.minimum(o, c) - spread, c, np.ones(len(c))
    )


def test_barrier_label_is_the_side_whose_runtime_trade_did_better() -> None:
    flat = [100.0] * 20
    up = _bars([*flat, 101, 103, 106, 110, 115, 120])
    down = _bars([*flat, 99, 97, 94, 90, 85, 80])
    spec = labels.BarrierSpec(atr_window=5, horizon_bars=4)
    t = 19  # decided at the close of the last flat bar
    ou, od = labels.trade_outcomes(up, spec), labels.trade_outcomes(down, spec)
    assert labels.barrier(ou)[t] == 1.0 and ou.long_hit_target[t] and not ou.short_hit_target[t]
    assert labels.barrier(od)[t] == 0.0 and od.short_hit_target[t] and not od.long_hit_target[t]
    assert labels.direction(up, 4)[t] == 1.0 and labels.direction(down, 4)[t] == 0.0
    # meta: the primary's side nets more than the cost, or not
    primary = np.zeros(len(up), dtype=np.int64)
    primary[t] = 1
    assert labels.meta(ou, primary, cost_bps=10.0)[t] == 1.0
    assert labels.meta(od, primary, cost_bps=10.0)[t] == 0.0
    assert np.isnan(labels.meta(ou, primary, cost_bps=10.0)[t - 1])  # no primary signal, no label


def test_no_label_crosses_a_gap_or_the_end() -> None:
    ts = list(range(10)) + list(range(13, 23))  # SYNTHETIC, bars 10-12 missing
    c = _bars([100 + 0.1 * i for i in range(20)], ts=ts)
    spec = labels.BarrierSpec(atr_window=3, horizon_bars=2)
    y = labels.barrier(labels.trade_outcomes(c, spec))
    d = labels.direction(c, 2)
    for arr in (y, d):
        assert np.isnan(arr[8]) and np.isnan(arr[9])  # t+2 lies past the hole
        assert np.isnan(arr[-1]) and np.isnan(arr[-2])  # past the data's end
        assert not np.isnan(arr[10])


def test_trade_returns_follow_the_runtime_exit_rule_on_real_bars(bundled: BundledCandles) -> None:
    """Each label's trade equals the outcome tracker's rule (domain.trade_resolution), bar by bar."""
    c = bundled.candles("BTC/USDT", Timeframe.M5).tail(600)
    spec = labels.BarrierSpec(horizon_bars=12)
    out = labels.trade_outcomes(c, spec)
    from domain.volatility import stop_atr

    a = stop_atr(c.high, c.low, c.close, spec.atr_window)
    checked = 0
    for t in range(20, 580, 7):
        dist = a[t] * spec.sl_atr_mult
        for sign, got in ((1, out.long_return[t]), (-1, out.short_return[t])):
            sl, tp = c.close[t] - sign * dist, c.close[t] + sign * dist * spec.reward_risk
            sl_ = slice(t + 1, t + 1 + spec.horizon_bars)
            ex = first_exit(sign, sl, tp, c.open[sl_], c.high[sl_], c.low[sl_])
            price = c.close[t + spec.horizon_bars] if ex is None else ex.price
            assert got == pytest.approx(sign * (price / c.open[t + 1] - 1.0), rel=1e-12, abs=1e-15)
            checked += 1
    assert checked > 100


def test_cross_asset_features_are_causal_on_the_real_candles(bundled: BundledCandles) -> None:
    btc = bundled.candles("BTC/USDT", Timeframe.M5).tail(3000)
    eth = bundled.candles("ETH/USDT", Timeframe.M5).tail(3000)
    rng = np.random.default_rng(7)
    params = CrossAssetParams()

    def full(target: Candles, leader: Candles) -> object:
        return with_columns(compute_features(target), cross_asset_features(target, leader, params))

    margin = warmup_bars(timeframe=Timeframe.M5)
    cuts = default_cuts(len(eth), 3, rng, margin=margin)
    as_target = check_leakage(lambda c: full(c, btc), eth, cuts, rng)  # type: ignore[arg-type,return-value]
    as_leader = check_leakage(lambda c: full(eth, c), btc, cuts, rng)  # type: ignore[arg-type,return-value]
    assert as_target.passed and as_leader.passed
    reacts = {v.name for v in as_leader.verdicts if v.reacts_after_cut}
    assert set(params.names()) <= reacts  # not vacuous: every cross column reads the leader
    m = cross_asset_features(eth, btc, params)
    assert np.isfinite(m.values[-100:]).all()
    assert float(np.nanmin(m.column("x_corr_48"))) >= -1.0 and float(np.nanmax(m.column("x_corr_48"))) <= 1.0


def test_the_guard_catches_a_leader_read_one_bar_ahead(bundled: BundledCandles) -> None:
    btc = bundled.candles("BTC/USDT", Timeframe.M5).tail(2000)
    eth = bundled.candles("ETH/USDT", Timeframe.M5).tail(2000)
    rng = np.random.default_rng(3)

    def ahead(leader: Candles) -> Candles:  # planted bug: bar t+1 labelled as bar t
        return Candles(
            leader.symbol,
            leader.timeframe,
            leader.ts - leader.timeframe.ms,
            leader.open,
            leader.high,
            leader.low,
            leader.close,
            leader.volume,
        )

    report = check_leakage(lambda c: cross_asset_features(eth, ahead(c)), btc, [1000, 1500], rng)
    assert not report.passed and "x_ret_1" in report.leaky


def test_a_missing_leader_bar_gives_nan_not_the_previous_value() -> None:
    target = _bars([100.0 + i for i in range(60)])
    keep = [i for i in range(60) if i != 40]
    leader = _bars([50.0 + 0.5 * i for i in keep], ts=keep)  # SYNTHETIC, bar 40 missing
    m = cross_asset_features(
        target, leader, CrossAssetParams(return_lookbacks=(1,), vol_window=5, rel_lookback=3, corr_window=5)
    )
    r1 = m.column("x_ret_1")
    assert np.isnan(r1[40]) and np.isnan(r1[41]) and np.isfinite(r1[42])
