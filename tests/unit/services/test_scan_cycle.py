"""The scan cycle and operator commands end to end on mocks; the guardrail on every path."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from domain.errors import ConfigError
from domain.market import Candles, Timeframe
from domain.signals import Block, BlockReason, Direction, Signal, Tier
from domain.volatility import REGIME_OF_CODE, regime_codes, stop_atr
from ports.errors import BrokerDisconnected
from ports.operator import OperatorCommands
from services.execution import execute_guarded
from tests.oracles import scalar_decision as oracle
from tests.unit.services.conftest import System


def test_hysteresis_then_signal_logged_recorded_notified_published(system: Any) -> None:
    first = system.scan()
    # BTC: 0.80 - 5 bias = 0.75 -> raw HIGH, but one scan is not enough; ETH 0.55-0.05 = 0.50 -> quiet
    assert first.signals == ()
    assert [(b.pair, b.reason) for b in first.blocks] == [("BTC/USDT", BlockReason.HYSTERESIS)]
    assert first.quiet == ("ETH/USDT",)
    second = system.scan()
    assert len(second.signals) == 1
    sig = second.signals[0]
    assert sig.pair == "BTC/USDT" and sig.tier is Tier.HIGH and sig.direction is Direction.LONG
    assert sig.confidence == pytest.approx(0.75, abs=0.021)  # plus bounded session/regime boosters
    assert sig.tp > sig.entry > sig.sl and sig.rr == pytest.approx(2.0)
    assert sig.model_versions == ("lstm:l1", "transformer:t1")
    assert any(r.startswith("bias:") for r in sig.reasons)
    assert system.log.status(sig.signal_id) == "sent"
    assert system.notifier.signals == [sig]
    assert system.risk_book.get(sig.signal_id) is not None
    assert system.bus.topic("signals")[0]["signal_id"] == sig.signal_id
    assert [b.reason for b in system.log.blocks()] == [BlockReason.HYSTERESIS]
    # features were computed on closed bars only
    assert all(c.ts[-1] + c.timeframe.ms <= system.clock.now_ms() for c in system.features_seen)


def test_the_cycle_runs_the_array_steps_and_explains_the_signal_as_the_scalar_oracle(system: Any) -> None:
    """The live cycle scores its pairs with the backtest's array steps; the emitted signal's confidence
    and reasons equal the scalar oracle's for the same probabilities, session time and regime, and each
    pair's hysteresis memory is what the next cycle continues from."""
    system.scan()
    at = system.clock.now_ms()
    [sig] = system.scan().signals
    btc = next(c for c in reversed(system.features_seen) if c.symbol == "BTC/USDT")
    a = stop_atr(btc.high, btc.low, btc.close, system.cycle.settings.atr_window)
    code = int(regime_codes(a, system.cycle.settings.regime_window, rows=np.array([len(a) - 1]))[0])
    want = oracle.score(
        {"lstm": 0.80, "transformer": 0.80},
        system.cycle.confidence,
        oracle.BoosterInputs(ts_ms=at, regime=REGIME_OF_CODE[code]),
    )
    assert want is not None
    assert sig.confidence == want.confidence and sig.reasons == want.reasons
    assert [r.split(":")[0] for r in sig.reasons] == ["ensemble", "booster", "booster", "bias"]
    assert sig.reasons[0] == "ensemble:0.8000[lstm,transformer]"
    # (direction sign, raw tier) of the last scan: BTC long HIGH, ETH long NONE (0.55 - 0.05 bias)
    assert {h.pair: h.history for h in system.desk.runtime.hysteresis} == {
        "BTC/USDT": ((1, int(Tier.HIGH)),),
        "ETH/USDT": ((1, int(Tier.NONE)),),
    }


def test_unchanged_closed_bars_reuse_the_last_features(system: Any) -> None:
    """Between two bar closes a cycle sees the same closed bars: the pair's last features come back
    (the features function is not called); changed values, an in-place change of the feed's arrays
    (the memory keeps a copy) or another features function compute them again."""
    cycle = system.cycle
    c = system.market.candles("BTC/USDT", Timeframe.M5)
    first = cycle.features_of("BTC/USDT", c)
    assert cycle.features_of("BTC/USDT", c.tail(len(c))) is first and len(system.features_seen) == 1
    close = c.close.copy()
    close[-1] *= 1.001
    moved = Candles(c.symbol, c.timeframe, c.ts, c.open, c.high, c.low, close, c.volume)
    assert cycle.features_of("BTC/USDT", moved) is not first and len(system.features_seen) == 2
    close[-1] = c.close[-1]  # the feed's own array, changed in place back to the first values
    assert cycle.features_of("BTC/USDT", moved) is not first and len(system.features_seen) == 3
    cycle.features = lambda x: ("other", x)
    assert cycle.features_of("BTC/USDT", moved)[0] == "other"
    # whole cycles: the second and third scans lie between the same two bar closes
    system2 = System()
    system2.scan(3)
    assert len(system2.features_seen) == 4  # two pairs, computed on the first two scans only


def test_only_the_feature_rows_every_predictor_reads_are_computed(system: Any) -> None:
    """When each predictor says how many newest feature rows it reads and the features function can
    stop there, the cycle asks it for that many (the most of them); a predictor that does not say,
    or a features function without `newest`, gets the whole call. The rows asked for are part of
    the reuse key."""

    class Rows:
        def __init__(self) -> None:
            self.calls: list[int | None] = []

        def __call__(self, c: Candles) -> Any:
            self.calls.append(None)
            return ("all", len(c))

        def newest(self, c: Candles, rows: int) -> Any:
            self.calls.append(rows)
            return ("newest", rows)

    class Reads:
        def __init__(self, rows: int | None) -> None:
            if rows is not None:
                self.feature_rows = rows

    cycle = system.cycle
    c = system.market.candles("BTC/USDT", Timeframe.M5)
    fn = Rows()
    cycle.features = fn
    cycle.predictors = [Reads(16), Reads(40)]
    assert cycle.feature_rows() == 40
    assert cycle.features_of("BTC/USDT", c) == ("newest", 40)
    assert cycle.features_of("BTC/USDT", c) == ("newest", 40) and fn.calls == [40]  # reused
    cycle.predictors = [Reads(16), Reads(None)]
    assert cycle.feature_rows() is None
    assert cycle.features_of("BTC/USDT", c) == ("all", len(c)) and fn.calls == [40, None]
    cycle.predictors = []
    assert cycle.feature_rows() is None
    cycle.predictors = [Reads(16)]
    cycle.features = lambda x: ("plain", len(x))
    assert cycle.features_of("BTC/USDT", c) == ("plain", len(c))


def test_notifier_failure_leaves_signal_pending(system: Any) -> None:
    system.scan()
    system.notifier.fail_next = 1
    rep = system.scan()
    assert system.log.status(rep.signals[0].signal_id) == "pending"
    assert [s.signal_id for s in system.log.pending()] == [rep.signals[0].signal_id]


def test_tier_rate_limit_blocks_and_is_recorded(system: Any) -> None:
    reps = [system.scan() for _ in range(8)]
    n_signals = sum(len(r.signals) for r in reps)
    assert n_signals == 5  # HIGH capped at 5 per 60 minutes (scans are 2 minutes apart)
    assert [b.reason for b in reps[-1].blocks] == [BlockReason.RATE_LIMIT_TIER]


def test_kill_switch_blocks_and_alerts(system: Any) -> None:
    system.scan()
    assert system.ops.kill_switch(True) is True
    rep = system.scan()
    assert rep.signals == () and rep.blocks[0].reason is BlockReason.KILL_SWITCH
    assert system.notifier.alerts and system.notifier.alerts[0][0] == "kill_switch"
    assert isinstance(system.ops.force_signal("BTC/USDT"), Block)
    system.ops.kill_switch(False)
    assert len(system.scan().signals) == 1


def push_over_the_limit(s: Any) -> None:
    """Synthetic losses: a closed losing trade takes equity below the 4.5% daily floor."""
    s.ops.ftmo_status()  # start the FTMO day at 100,000 balance
    s.broker.set_balance(95_400.0)


def test_guardrail_blocks_on_every_path(live_system: Any) -> None:
    s = live_system
    s.scan()  # first scan primes hysteresis
    push_over_the_limit(s)
    # 1. scan cycle
    rep = s.scan()
    assert rep.signals == ()
    assert rep.blocks[0].reason in (BlockReason.HALTED, BlockReason.DAILY_LOSS)
    # 2. operator-forced signal
    forced = s.ops.force_signal("BTC/USDT", Direction.SHORT)
    assert isinstance(forced, Block) and forced.reason is BlockReason.HALTED
    # 3. broker execution path
    px = s.broker.quote("BTC/USDT")[1]
    ex = execute_guarded(
        s.desk,
        s.broker,
        s.clock.now_ms(),
        "manual-1",
        "BTC/USDT",
        Direction.LONG,
        px,
        px * 0.99,
        px * 1.02,
        Tier.HIGH,
        volume=0.01,
    )
    assert ex.fill is None and ex.block is not None and ex.block.reason is BlockReason.HALTED
    assert s.broker.orders_sent == 0 and s.broker.positions() == []
    assert s.notifier.signals == []
    assert any(k == "guardrail_breach" for k, _ in s.notifier.alerts)
    status = s.ops.ftmo_status()
    assert status.halted and status.daily_floor == 95_500 and status.total_floor == 91_000
    # the halt is latched until the next Prague midnight (2024-01-02 23:00 UTC), then lifts
    s.broker.set_balance(96_000.0)
    assert s.scan().signals == ()
    s.clock.set(1_704_236_400_000 - 120_001)
    assert s.scan().signals == ()
    s.clock.set(1_704_236_400_000)  # 2024-01-02 23:00 UTC = Prague midnight
    s.scan()
    assert len(s.scan().signals) == 1


def test_guard_blocks_without_breach_when_headroom_is_too_small(live_system: Any) -> None:
    s = live_system
    s.scan()
    s.ops.ftmo_status()
    s.broker.set_balance(95_500.5)  # 0.5 above the floor: not breached, but no room for a trade
    rep = s.scan()
    assert rep.signals == () and rep.blocks[0].reason is BlockReason.DAILY_LOSS
    assert not s.desk.policy.is_halted(s.clock.now_ms())


def test_execution_places_sized_orders_and_handles_broker_errors() -> None:
    s = System(execute=True, margin_rate=0.05)  # 1:20, so the first position leaves margin for another
    s.scan()
    rep = s.scan()
    sig = rep.signals[0]
    pos = s.broker.positions()
    assert len(pos) == 1 and pos[0].client_order_id == sig.signal_id
    # 0.5% of 100,000 = 500 at risk over the SL distance
    assert pos[0].volume * abs(pos[0].entry - pos[0].sl) <= 500 + 1e-6
    assert s.broker.account().margin <= 100_000  # ... and within the free margin
    s.broker.fail_next = BrokerDisconnected("terminal offline")
    rep3 = s.scan()
    assert rep3.blocks[0].reason is BlockReason.BROKER_ERROR and "BrokerDisconnected" in rep3.blocks[0].detail
    assert s.desk.ftmo is not None and len(s.desk.ftmo.trading_days) == 1


def test_operator_commands(system: Any) -> None:
    ops: OperatorCommands = system.ops
    assert isinstance(ops, OperatorCommands)
    chk = ops.check()
    assert chk.mode == "dryrun" and not chk.kill_switch and chk.broker_ok and chk.last_scan_ms is None
    assert ops.set_threshold(Tier.HIGH, 0.9) == (("LOW", 0.55), ("MEDIUM", 0.60), ("HIGH", 0.9))
    with pytest.raises(ConfigError):
        ops.set_threshold(Tier.LOW, 0.95)
    system.scan(2)
    assert ops.check().last_scan_ms is not None
    req = ops.request_retrain("drift")
    assert req.reason == "drift" and system.bus.topic("metrics")[0]["request_id"] == req.request_id
    st = ops.ftmo_status()
    assert (st.balance, st.daily_floor, st.total_floor, st.profit_target) == (100_000, 95_500, 91_000, 10_000)
    forced = ops.force_signal("BTC/USDT", Direction.SHORT)
    assert isinstance(forced, Signal) and forced.direction is Direction.SHORT and "forced:short" in forced.reasons
    # close a trade in the risk book and see it in stats
    rec = system.risk_book.get(forced.signal_id)
    assert rec is not None
    system.risk_book.update(rec.close(system.clock.now_ms(), rec.tp_price))
    stats = ops.stats(7)
    assert stats.trades == 1 and stats.wins == 1 and stats.total_r == pytest.approx(2.0)
    assert ("tier", "LOW") in {(r.group, r.key) for r in stats.rows}


def test_broker_down_shows_in_check(system: Any) -> None:
    def boom() -> list[object]:
        raise BrokerDisconnected("down")

    system.broker.positions = boom
    chk = system.ops.check()
    assert not chk.broker_ok and "BrokerDisconnected" in chk.detail
