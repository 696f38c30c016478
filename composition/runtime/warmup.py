"""JIT warm-up at start-up: the cycle's compiled steps run once before the first live cycle.

The feature code (domain.features, domain.resample, domain.spread_estimators) is numba-compiled
with an on-disk cache. The first call in a process compiles it, or loads the cache, which takes from
a fraction of a second to several seconds; torch initialises its kernels on a model's first call too.
Left to the first live cycle, that time lands on a real decision. So the runtime runs the cycle's
own features function and every predictor once at start-up, on warm-up candles: a synthetic,
deterministic series labelled "warm-up" (never market data, never traded, never stored), of the
cycle's own timeframe and look-back so the compiled signatures are exactly the ones a cycle uses.

numba compiles one signature per array type, and a read-only array is a type of its own: the
bundled candle store hands out read-only arrays, a live feed writable ones, so the warm-up runs the
features on both. The FTMO ledger arithmetic every cycle runs first (domain.ftmo, domain.prague_time:
start, the roll across a Prague midnight, the floor check) is warmed on a throwaway ledger, never
the desk's, and so is the desk's compiled decision (domain.decision.decide_core) on a throwaway book.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from domain import policy
from domain.backtest.lifecycle import closed_trade, resolve_exits
from domain.decision import Book, decide_trade
from domain.ftmo import FtmoRules, FtmoState, check
from domain.market import Candles, session_end_ms
from domain.prague_time import next_day_start_ms
from domain.settings import PositionLimits
from domain.signals import Direction, Tier
from domain.tiering import hysteresis_run
from domain.trading import Position, SymbolSpec
from domain.volatility import regime_codes, stop_atr

WARM_UP_LABEL = "warm-up (synthetic)"


def warm_up_candles(pair: str, scan: Any) -> Candles:
    """A smooth deterministic series with the cycle's timeframe and window length."""
    tf = scan.settings.timeframe
    n = int(scan.settings.lookback_bars)
    i = np.arange(n, dtype=np.float64)
    close = 100.0 * np.exp(0.002 * np.sin(i / 7.0) + 0.0005 * np.cos(i / 3.0))
    ts = (np.arange(n, dtype=np.int64) + 1_000) * tf.ms
    return Candles(pair, tf, ts, close, close * 1.001, close * 0.999, close, np.full(n, 10.0))


def read_only(c: Candles) -> Candles:
    """The same candles on read-only arrays (what the bundled candle store returns)."""
    arrays = []
    for a in (c.ts, c.open, c.high, c.low, c.close, c.volume):
        ro = a.copy()
        ro.flags.writeable = False
        arrays.append(ro)
    return Candles(c.symbol, c.timeframe, *arrays)


def warm_up_ledger(scan: Any) -> None:
    """The cycle's FTMO steps on a throwaway ledger: start, a balance change across a Prague midnight,
    the floor check (the desk's own ledger is not touched)."""
    t = 1_700_000_000_000
    day = 86_400_000
    led = FtmoState.start(t, 100_000.0, 100_000.0)
    led = led.advance(t + day, 100_000.0, 100_000.0).advance(t + 3 * day, 100_100.0, 100_050.0, [t + 2 * day])
    rules = getattr(getattr(scan, "desk", None), "rules", None)
    check(rules if isinstance(rules, FtmoRules) else FtmoRules(), led, 100_050.0)
    next_day_start_ms(t)


def warm_up_decision() -> None:
    """The desk's compiled decision (domain.decision.decide_core and the steps it calls: policy gate,
    sizing, guard) on a throwaway book with one open position, through every step; the loss backoff's
    session end and the close arithmetic of a trade (never the desk's state)."""
    t = 1_700_000_000_000
    spec = SymbolSpec("WARM/USDT", "WARMUSD")
    led = FtmoState.start(t, 100_000.0)
    open_ = Position("w", spec.pair, Direction.LONG, 0.1, 100.0, 99.0, None, t - 1, "w")
    book = Book(
        ftmo=check(FtmoRules(), led, 100_000.0),
        positions=(open_,),
        spec=spec,
        equity=100_000.0,
        free_margin=99_990.0,
        balance=100_000.0,
        cost_bps=10.0,
        specs={spec.pair: spec},
        marks={spec.pair: 100.0},
        exit_bps={spec.pair: 5.0},
    )
    for volume in (None, 0.5):
        decide_trade(
            policy.PolicyConfig(), policy.PolicyState(emitted=((t - 1, Tier.HIGH),)), Tier.HIGH, t, book,
            pair=spec.pair, entry=100.0, sl=99.0, risk_pct=0.5, limits=PositionLimits.unlimited(), volume=volume,
        )  # fmt: skip
    session_end_ms(t)
    closed_trade(1, 100.0, 101.0, 5.0, 0.1, 1.0, 3.25)


def warm_up_cycle_steps(scan: Any) -> None:
    """The cycle's stop ATR and volatility regime of the newest bar (domain.volatility), its tier
    hysteresis and an order's exit, on warm-up candles."""
    if scan.settings.pairs:
        c = warm_up_candles(scan.settings.pairs[0], scan)
        a = stop_atr(c.high, c.low, c.close, scan.settings.atr_window)
        regime_codes(a, scan.settings.regime_window, rows=np.array([len(a) - 1]))
        hysteresis_run(np.array([1]), np.array([2]), 3, ((1, 2), (1, 1)))  # the tier's memory (domain.tiering)
        # an order's exit on the simulated broker (domain.backtest.lifecycle, the engine's own rule)
        last = np.array([len(c) - 3])
        resolve_exits(c, last, np.array([1]), c.close[last] * 0.99, c.close[last] * 1.01, 3)


def warm_up_compiled(scan: Any, log: logging.Logger) -> float:
    """Run `scan.features` (on writable and read-only warm-up candles), each of `scan.predictors`
    once, the FTMO ledger steps and the desk's decision; returns seconds.

    A predictor that fails here is logged and left to the cycle (which handles its own failures):
    a warm-up never stops the start-up."""
    t0 = time.perf_counter()
    inputs = {p: scan.features(warm_up_candles(p, scan)) for p in scan.settings.pairs}
    for p in scan.settings.pairs:
        scan.features(read_only(warm_up_candles(p, scan)))
    warm_up_ledger(scan)
    warm_up_decision()
    warm_up_cycle_steps(scan)
    for pred in scan.predictors:
        try:
            pred.predict(inputs)
        except Exception as exc:  # a plugin's predictor must not stop the start-up
            log.warning(
                "jit_warm_up_predictor_failed", extra={"ctx": {"model": getattr(pred, "name", "?"), "error": str(exc)}}
            )
    seconds = time.perf_counter() - t0
    log.info(
        "jit_warm_up",
        extra={
            "ctx": {
                "seconds": round(seconds, 3),
                "input": WARM_UP_LABEL,
                "models": [getattr(p, "name", "?") for p in scan.predictors],
            }
        },
    )
    return seconds
