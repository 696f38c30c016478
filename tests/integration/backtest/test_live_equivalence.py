"""The batch engine gives the very signals and blocks the live scan-cycle service gives on the same
bars, with the same (precomputed) model, the same policy/guard/position limits and the same cost draws.

On GENERATED candles (adapters.mocks.market_data.synthetic_candles: mechanics only, never market data),
so the comparison always runs, and on the real candles from ../shared/data when present. The live side
is the real ScanCycle with execute=True, replay market data, a fake clock and the simulated broker; it
advances the FTMO ledger on every cycle, the engine at every close and candidate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from adapters.brokers.simulated import SimulatedBroker
from adapters.events.in_process import InProcessEventBus
from adapters.market_data.replay import ReplayMarketData
from adapters.mocks.clock import FakeClock
from adapters.mocks.market_data import InMemoryMarketData, synthetic_candles
from adapters.mocks.notifier import RecordingNotifier
from adapters.mocks.storage import InMemoryRiskBook, InMemorySignalLog
from domain.backtest.baseline import MomentumSignPredictor
from domain.backtest.engine import BLOCK_CODES, REASON_OF_CODE, EngineConfig, PairData, run
from domain.backtest.lifecycle import ExitReason
from domain.backtest.precomputed import PrecomputedPredictor
from domain.confidence import ConfidenceParams, EnsembleWeights
from domain.execution_costs import FixedCostModel
from domain.ftmo import FtmoRules
from domain.market import Candles, Timeframe
from domain.policy import PolicyConfig
from domain.settings import PositionLimits
from domain.signals import BlockReason, Tier, TierThresholds
from domain.trading import SymbolSpec
from ports.runtime_state import RuntimeState
from services.backtest import replay_live
from services.execution import RiskDesk
from services.scan_cycle import ScanCycle, ScanSettings

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "candles" / "binance"


def _load(sym: str, start: int, n: int) -> Candles:
    df = pd.read_parquet(DATA / f"{sym}_USDT-5m.parquet").iloc[start : start + n]
    ts = df["timestamp"].astype("int64").to_numpy()
    return Candles(f"{sym}/USDT", Timeframe.M5, ts, df["open"], df["high"], df["low"], df["close"], df["volume"])


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
@pytest.mark.parametrize(("risk_pct", "balance_hit"), [(0.5, False), (2.0, True)])
def test_batch_engine_equals_live_scan_cycle(risk_pct: float, balance_hit: bool) -> None:
    post = _compare(
        [_load(s, 40_000, 900) for s in ("BTC", "ETH", "BNB")], risk_pct, balance_hit, PositionLimits.unlimited()
    )
    # 1:1 margin (SymbolSpec's default) with ATR stops: the free-margin cap blocks on both paths alike
    assert "insufficient_margin" in {x[2] for x in post}
    if balance_hit:  # the tight buffers make the guard and the halt bite
        reasons = {x[2] for x in post}
        assert reasons & {"daily_loss", "max_loss", "halted"}


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_batch_engine_equals_live_scan_cycle_with_the_products_position_limits() -> None:
    post = _compare([_load(s, 40_000, 900) for s in ("BTC", "ETH", "BNB")], 0.5, False, PositionLimits(3, 1))
    assert "max_positions_per_pair" in {x[2] for x in post}


@pytest.mark.parametrize(
    ("risk_pct", "balance_hit", "limits"),
    [
        (0.5, False, PositionLimits.unlimited()),
        (2.0, True, PositionLimits.unlimited()),
        (0.5, False, PositionLimits(3, 1)),
        (2.0, True, PositionLimits(2, 1)),
    ],
)
def test_batch_engine_equals_live_scan_cycle_on_generated_candles(
    risk_pct: float, balance_hit: bool, limits: PositionLimits
) -> None:
    start = 1_735_689_600_000  # 2025-01-01 00:00 UTC: three Prague midnights in 900 bars
    bars = [
        synthetic_candles(f"{s}/USDT", Timeframe.M5, 900, start, seed=k, start_price=p)
        for k, (s, p) in enumerate((("BTC", 60_000.0), ("ETH", 3_000.0), ("BNB", 500.0)))
    ]
    post = _compare(bars, risk_pct, balance_hit, limits)
    if limits.max_per_pair == 1:
        assert "max_positions_per_pair" in {x[2] for x in post}


@pytest.mark.parametrize("flatten", [False, True])
def test_a_floor_crossed_between_candidates_halts_both_paths_alike(flatten: bool) -> None:
    """Sparse candidates (a prediction every 24th bar) with open positions and a tight daily floor
    (0.5 % below the day's start): equity crosses the floor on bars without a candidate. The live
    cycle checks equity every bar, latches the halt there and, with FLATTEN_ON_FLOOR, closes every
    position at that bar's close; the batch engine must do the same on the same bar."""
    start = 1_735_689_600_000
    bars = [
        synthetic_candles(f"{s}/USDT", Timeframe.M5, 3_000, start, seed=10 + k, start_price=p)
        for k, (s, p) in enumerate((("BTC", 60_000.0), ("ETH", 3_000.0), ("BNB", 500.0)))
    ]
    rules = FtmoRules.two_step(daily_buffer_pct=0.5, total_buffer_pct=3.0)
    post = _compare(bars, 2.0, True, PositionLimits.unlimited(), flatten=flatten, every=24, rules=rules, horizon=72)
    assert "halted" in {x[2] for x in post}


def _compare(
    bars: list[Candles],
    risk_pct: float,
    balance_hit: bool,
    limits: PositionLimits,
    *,
    flatten: bool = False,
    every: int = 1,
    rules: FtmoRules | None = None,
    horizon: int = 6,
) -> list[tuple[int, str, str, int]]:
    """Run both sides on `bars`; assert identical signals and blocks; return the engine's stage-2 blocks.
    `every` > 1 keeps the model's call on two bars in every `every` only (hysteresis wants two scans in
    a row) and a flat 0.5 elsewhere: sparse candidates."""
    pred = MomentumSignPredictor()
    probs = {c.symbol: pred.probs(c.close) for c in bars}
    if every > 1:
        for v in probs.values():
            v[np.arange(v.shape[0]) % every > 1] = 0.5
    specs = {c.symbol: SymbolSpec(c.symbol, c.symbol.replace("/USDT", "USD")) for c in bars}
    weights = EnsembleWeights({"momentum": 1.0})
    params = ConfidenceParams(weights=weights)
    th = TierThresholds()
    pcfg = PolicyConfig(max_per_hour=6, max_per_hour_by_tier={Tier.HIGH: 3})
    if rules is None:
        rules = FtmoRules.two_step(daily_buffer_pct=1.0, total_buffer_pct=3.0) if balance_hit else FtmoRules()
    costs = FixedCostModel(6.0, 2.0)
    cfg = EngineConfig(
        thresholds=th,
        confidence=params,
        policy=pcfg,
        rules=rules,
        risk_pct=risk_pct,
        horizon_bars=horizon,
        fee_bps=3.0,
        latency_ms=800.0,
        limits=limits,
        flatten_on_floor=flatten,
    )
    res = run(
        [PairData(c.symbol, c, {"momentum": probs[c.symbol]}, specs[c.symbol]) for c in bars],
        cfg,
        costs,
        np.random.default_rng(7),
    )

    # ---- the live service on the same bars
    clock = FakeClock(int(bars[0].ts[0]))
    market = ReplayMarketData(InMemoryMarketData(bars), clock)
    broker = SimulatedBroker(
        {c.symbol: c for c in bars},
        specs,
        clock,
        costs,
        np.random.default_rng(7),
        horizon_bars=horizon,
        initial_balance=rules.initial_balance,
        fee_bps=3.0,
        latency_ms=800.0,
    )
    desk = RiskDesk(
        rules,
        pcfg,
        RuntimeState(mode="backtest", thresholds=th),
        risk_per_trade_pct=risk_pct,
        costs=costs,
        fee_bps=3.0,
        latency_ms=800.0,  # the guard's cost allowance, as the engine's
        limits=limits,
        flatten_on_floor=flatten,
    )
    scan = ScanCycle(
        ScanSettings(pairs=tuple(c.symbol for c in bars), timeframe=Timeframe.M5, execute=True),
        desk,
        market,
        [PrecomputedPredictor("momentum", "baseline-1", {c.symbol: (c.ts, probs[c.symbol]) for c in bars})],
        lambda c: c,
        broker,
        RecordingNotifier(),
        InMemoryRiskBook(),
        InMemorySignalLog(),
        InProcessEventBus(),
        clock,
        params,
    )
    times = (bars[0].ts[:-1] + Timeframe.M5.ms).tolist()  # every bar close that has a next bar
    reports = replay_live(scan, clock.set, broker.take_closed, times)

    live_sigs = [
        (s.created_at_ms, s.pair, s.direction.sign, int(s.tier), s.confidence, s.entry, s.sl, s.tp)
        for r in reports
        for s in r.signals
    ]
    live_blocks = [(b.at_ms, b.pair, b.reason.value, int(b.tier)) for r in reports for b in r.blocks]

    names = res.pairs
    tr = res.trades
    batch_sigs = [
        (
            int(tr["entry_ms"][k]),
            names[int(tr["pair"][k])],
            int(tr["sign"][k]),
            int(tr["tier"][k]),
            float(tr["confidence"][k]),
            float(tr["entry_fill"][k]),
            float(tr["sl"][k]),
            float(tr["tp"][k]),
        )
        for k in range(tr["pair"].shape[0])
    ]
    pre: list[tuple[int, str, str, int]] = []
    for r, s1 in enumerate(res.stage1):
        c = bars[r]
        for code in (BlockReason.NO_PREDICTION, BlockReason.HYSTERESIS):
            for i in np.flatnonzero(s1.outcome == BLOCK_CODES[code]).tolist():
                if i + 1 < len(c):
                    t = 0 if code is BlockReason.NO_PREDICTION else int(s1.raw_tier[i])
                    pre.append((int(c.ts[i]) + c.timeframe.ms, names[r], code.value, t))
    b = res.blocks
    post = [
        (int(b["at_ms"][k]), names[int(b["pair"][k])], REASON_OF_CODE[int(b["reason"][k])].value, int(b["tier"][k]))
        for k in range(b["pair"].shape[0])
    ]
    batch_blocks = sorted(pre + post, key=lambda x: (x[0], names.index(x[1])))

    assert len(batch_sigs) > 5 and len(post) > 5  # the comparison covers emitted and guarded paths
    print("signals", len(batch_sigs), "blocks", len(batch_blocks), sorted({x[2] for x in batch_blocks}))
    assert batch_sigs == live_sigs
    assert batch_blocks == live_blocks
    # every trade the live account closed during the replay closed at the same time, price and volume
    last = times[-1]
    live_closes = sorted(
        (f.at_ms, f.pair, f.fill_price, f.volume) for f in broker.fills(0) if f.client_order_id.startswith("close-")
    )
    batch_closes = sorted(
        (int(tr["exit_ms"][k]), names[int(tr["pair"][k])], float(tr["exit_fill"][k]), float(tr["volume"][k]))
        for k in range(tr["pair"].shape[0])
        if int(tr["exit_ms"][k]) <= last
    )
    assert batch_closes == live_closes
    if flatten:  # the comparison covers the flatten itself
        assert int(ExitReason.FLATTEN) in set(np.asarray(tr["exit_reason"]).tolist())
    return post
