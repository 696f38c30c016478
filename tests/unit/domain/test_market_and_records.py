"""Market vocabulary, records and risk-book statistics (synthetic bars for mechanics only)."""

from __future__ import annotations

import numpy as np
import pytest

from domain.deployment import ModelRecord
from domain.errors import UserError
from domain.feature_matrix import FeatureMatrix
from domain.market import (
    Candles,
    InvalidSymbol,
    InvalidTimeframe,
    Session,
    SessionHours,
    Timeframe,
    VolRegime,
    atr,
    day_of_week,
    overlap_mask,
    primary_session,
    session_masks,
    true_range,
    validate_symbol,
    volatility_regime,
)
from domain.risk_book import PatternStat, TradeRecord
from domain.risk_stats import closed_in_window, group_stats, summarise
from domain.signals import Block, BlockReason, Direction, Mode, Prediction, Signal, Tier, reward_risk
from domain.trading import AccountState, Fill, OrderRequest, Position

H = 3_600_000
DAY = 86_400_000


def synthetic(n: int = 5, tf: Timeframe = Timeframe.H1) -> Candles:
    ts = np.arange(n, dtype=np.int64) * tf.ms
    c = np.linspace(100, 104, n)
    return Candles("BTC/USDT", tf, ts, c, c + 1, c - 1, c, np.ones(n))


def test_timeframes() -> None:
    assert [Timeframe.parse(s).minutes for s in ("1m", "5m", "15m", "1h", "4h", "1D ")] == [1, 5, 15, 60, 240, 1440]
    assert Timeframe.H4.ms == 14_400_000 and str(Timeframe.M5) == "5m"
    assert Timeframe.parse(Timeframe.M1) is Timeframe.M1
    with pytest.raises(InvalidTimeframe, match="valid timeframes: 1m, 5m, 15m, 1h, 4h, 1d"):
        Timeframe.parse("2h")
    assert issubclass(InvalidTimeframe, UserError)


def test_symbols() -> None:
    assert validate_symbol(" eth/usdt ") == "ETH/USDT"
    for bad in ("BTCUSDT", "BTC/", "/USDT", "BTC-USDT", "B/USDT"):
        with pytest.raises(InvalidSymbol):
            validate_symbol(bad)


def test_candles_slicing() -> None:
    c = synthetic(5)
    assert len(c) == 5 and c.last_ts == 4 * H
    assert len(c.slice_until(2 * H)) == 3
    assert len(c.slice_until(2 * H - 1)) == 2
    assert len(c.closed_before(3 * H)) == 3  # bar at 2h closes at 3h
    assert len(c.between(H, 3 * H)) == 2 and len(c.between()) == 5 and len(c.between(3 * H, H)) == 0
    assert c.tail(2).ts.tolist() == [3 * H, 4 * H] and c.tail(10).equals(c)
    assert not c.tail(2).equals(c)
    assert len(Candles.empty("BTC/USDT", Timeframe.M1)) == 0 and Candles.empty("X/Y", Timeframe.M1).last_ts is None
    with pytest.raises(ValueError, match="strictly increasing"):
        Candles("X/Y", Timeframe.M1, [2, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1])
    with pytest.raises(ValueError, match="shape"):
        Candles("X/Y", Timeframe.M1, [1, 2], [1], [1, 1], [1, 1], [1, 1], [1, 1])
    with pytest.raises(ValueError):
        Candles("X/Y", Timeframe.M1, [[1]], [1], [1], [1], [1], [1])


def test_sessions_and_weekday() -> None:
    ts = np.array([0, 3 * H, 8 * H, 13 * H, 20 * H, 22 * H])
    m = session_masks(ts)
    assert m[Session.TOKYO].tolist() == [True, True, True, False, False, False]
    assert m[Session.LONDON].tolist() == [False, False, True, True, False, False]
    assert m[Session.NEW_YORK].tolist() == [False, False, False, True, True, False]
    assert overlap_mask(m, Session.LONDON, Session.NEW_YORK).tolist() == [False, False, False, True, False, False]
    wrap = session_masks(np.array([23 * H, 2 * H, 10 * H]), SessionHours(tokyo=(23, 8)))
    assert wrap[Session.TOKYO].tolist() == [True, True, False]
    assert primary_session(13 * H) is Session.NEW_YORK and primary_session(22 * H) is None
    assert primary_session(3 * H) is Session.TOKYO and primary_session(8 * H) is Session.LONDON
    assert day_of_week(np.array([0, 4 * DAY])).tolist() == [3, 0]  # Thu 1 Jan 1970, Mon 5 Jan
    with pytest.raises(ValueError):
        SessionHours(tokyo=(5, 5))


def test_atr_and_regime() -> None:
    h = np.array([11.0, 12, 13, 12])
    lo = np.array([9.0, 10, 11, 8])
    c = np.array([10.0, 11, 12, 9])
    assert true_range(h, lo, c).tolist() == [2, 2, 2, 4]
    a = atr(h, lo, c, window=2)
    assert np.isnan(a[0]) and a[1:].tolist() == [2, 2, 3]
    assert np.isnan(atr(h, lo, c, window=10)).all()
    hist = np.concatenate([np.full(10, np.nan), np.arange(1.0, 101.0)])
    assert volatility_regime(hist)[0] is VolRegime.HIGH
    assert volatility_regime(np.concatenate([hist, [1.0]]))[0] is VolRegime.LOW
    assert volatility_regime(np.concatenate([hist, [50.0]]))[0] is VolRegime.MEDIUM
    assert volatility_regime(np.array([np.nan]))[0] is VolRegime.MEDIUM


def test_signal_validation_and_rr() -> None:
    s = Signal("s1", "BTC/USDT", Direction.LONG, Tier.HIGH, 0.7, 100, 106, 97, 2.0, 0)
    assert s.sl_distance == 3 and s.mode is Mode.DRYRUN
    with pytest.raises(ValueError):
        Signal("s2", "BTC/USDT", Direction.SHORT, Tier.HIGH, 0.7, 100, 106, 97, 2.0, 0)
    assert reward_risk(100, 106, 97) == 2.0
    with pytest.raises(ValueError):
        reward_risk(100, 106, 100)
    assert Direction.SHORT.sign == -1 and Direction.LONG.opposite is Direction.SHORT
    with pytest.raises(ValueError):
        Prediction("BTC/USDT", 1.2, "lstm", "v1")
    assert Block("BTC/USDT", BlockReason.HALTED, "x", 1).reason == "halted"


def test_trading_values() -> None:
    acc = AccountState(100_000, 99_500)
    assert acc.floating_pnl == -500
    p = Position("p", "BTC/USDT", Direction.SHORT, 0.5, 100, 110, 90, 0)
    assert p.loss_at_sl(1.0) == 5.0 and p.pnl_at(95, 1.0) == 2.5
    with pytest.raises(ValueError):
        OrderRequest("c", "BTC/USDT", Direction.LONG, 0, 90)
    f = Fill("c", "BTC/USDT", 100.0, 100.1, 1.0, 0, direction=Direction.LONG)
    assert f.slippage_bps() == pytest.approx(10.0)
    assert f.slippage_bps(Direction.SHORT) == pytest.approx(-10.0)
    assert Fill("c", "X/Y", 0.0, 1.0, 1.0, 0).slippage_bps() == 0.0


def rec(
    sid: str, pair: str, tier: Tier, exit_price: float, exit_day: int, session: str = "london", mode: Mode = Mode.DRYRUN
) -> TradeRecord:
    r = TradeRecord(sid, pair, tier, 0, 100.0, 110.0, 95.0, 2.0, mode=mode, session=session, model_version="v1")
    return r.close(exit_day * DAY, exit_price)


def test_trade_record_close_and_stats() -> None:
    w = rec("a", "BTC/USDT", Tier.HIGH, 110.0, 1)
    assert w.result == "W" and w.r_realized == 2.0 and w.time_to_tp_sl_seconds == 86_400 and not w.is_open
    short = TradeRecord("s", "ETH/USDT", Tier.LOW, 0, 100.0, 90.0, 105.0, 2.0).close(1000, 105.0)
    assert short.result == "L" and short.r_realized == -1.0
    records = [
        w,
        rec("b", "BTC/USDT", Tier.HIGH, 95.0, 2),
        rec("c", "ETH/USDT", Tier.LOW, 110.0, 20, session="tokyo"),
        rec("d", "ETH/USDT", Tier.LOW, 110.0, 3, mode=Mode.LIVE),
        TradeRecord("e", "ETH/USDT", Tier.LOW, 0, 100.0, 110.0, 95.0, 2.0),
    ]
    last7 = closed_in_window(records, now_ms=7 * DAY, days=7, mode=Mode.DRYRUN)
    assert [r.signal_id for r in last7] == ["a", "b"]
    assert len(closed_in_window(records, now_ms=30 * DAY)) == 4
    s = summarise(last7)
    assert (s.trades, s.wins, s.win_rate, s.total_r, s.avg_r) == (2, 1, 0.5, 1.0, 0.5)
    by_tier = group_stats(closed_in_window(records, 30 * DAY, 30), "tier")
    assert [(g.key, g.trades, g.wins, g.total_r) for g in by_tier] == [("HIGH", 2, 1, 1.0), ("LOW", 2, 2, 4.0)]
    assert [g.key for g in group_stats(records[:3], "session")] == ["london", "tokyo"]
    assert group_stats(records[:3], "model_version")[0].trades == 3
    assert summarise([]).win_rate is None and summarise([]).avg_r is None
    with pytest.raises(ValueError):
        group_stats(records, "weekday")


def test_pattern_stat_and_misc_values() -> None:
    p = PatternStat("hammer", "h").record(True).record(False)
    assert (p.wins, p.total, p.win_rate) == (1, 2, 0.5)
    assert PatternStat("x", "x").win_rate is None
    with pytest.raises(ValueError):
        PatternStat("x", "x", 3, 2)
    m = ModelRecord("lstm", "v1", "/m", 0, (("brier", 0.2),))
    assert m.metric("brier") == 0.2 and m.metric("acc") is None
    fm = FeatureMatrix("BTC/USDT", "1h", "f1", [0, 1], ["a", "b"], [[1.0, 2.0], [3.0, np.nan]])
    assert fm.column("b")[0] == 2.0 and len(fm) == 2
    assert fm.equals(FeatureMatrix("BTC/USDT", "1h", "f1", [0, 1], ["a", "b"], [[1.0, 2.0], [3.0, np.nan]]))
    assert FeatureMatrix("X/Y", "1h", "f", [0, 1], ["a"], [1.0, 2.0]).values.shape == (2, 1)
    with pytest.raises(ValueError):
        FeatureMatrix("X/Y", "1h", "f", [0], ["a", "a"], [[1.0, 2.0]])
    with pytest.raises(ValueError):
        FeatureMatrix("X/Y", "1h", "f", [0], ["a"], [[1.0, 2.0]])
