"""One scan cycle's decision latency: candles in memory -> signals for BTC/ETH/BNB, through the real
confidence, tiering, policy and FTMO guard, with the runtime's predictors (the promoted models when
available, else the named momentum baseline). Prints p50/p99 and the process RSS, and the ratio to a
baseline measured in the same run: the same cycles doing only the data slicing + feature step.

Targets: p99 <= 50 ms, RSS <= 1 GiB.   Run: .venv/bin/python bench/cycle.py [--cycles N]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.brokers.symbols import DEFAULT_SPECS
from adapters.events.in_process import InProcessEventBus
from adapters.market_data.bundled import BundledCandles
from adapters.mocks.broker import MockBroker
from adapters.mocks.clock import FakeClock
from adapters.mocks.market_data import InMemoryMarketData
from adapters.mocks.notifier import RecordingNotifier
from adapters.mocks.storage import InMemoryRiskBook, InMemorySignalLog
from composition.config import load_config
from composition.containers import load_predictors, make_policy_cfg, make_rules, parse_date_ms
from composition.runtime.resources import peak_rss_mb, rss_mb
from domain.confidence import ConfidenceParams, EnsembleWeights
from domain.market import Timeframe
from domain.signals import TierThresholds
from ports.runtime_state import RuntimeState
from services.execution import RiskDesk
from services.scan_cycle import ScanCycle, ScanSettings


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=400)
    ap.add_argument("--start", default="2025-10-01")
    args = ap.parse_args()
    config = load_config(env_file=None)
    log = logging.getLogger("bench")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    tf = Timeframe.M5
    source = BundledCandles(config.data.candles_dir)
    pairs = tuple(config.data.symbols)
    # Everything in memory before timing: the real candles of the three pairs.
    market = InMemoryMarketData([source.candles(p, tf) for p in pairs])
    predictors, features, gated, desc = load_predictors(config, log)
    names = [p.name for p in predictors]
    weights = EnsembleWeights.parse(config.confidence.ensemble_weights)
    if not any(dict(weights.weights).get(n, 0) > 0 for n in names):
        weights = EnsembleWeights({n: 1.0 / len(names) for n in names})
    start = parse_date_ms(args.start, "--start")
    clock = FakeClock(start)
    broker = MockBroker(DEFAULT_SPECS.values(), clock, config.risk.initial_balance)
    desk = RiskDesk(make_rules(config), make_policy_cfg(config), RuntimeState("dryrun", TierThresholds()))
    scan = ScanCycle(ScanSettings(pairs, tf), desk, market, predictors, features, broker, RecordingNotifier(),
                     InMemoryRiskBook(), InMemorySignalLog(), InProcessEventBus(), clock,
                     ConfidenceParams(weights=weights))
    ticks = [start + i * 120_000 for i in range(args.cycles)]

    def set_quotes(t: int) -> None:
        for p in pairs:
            c = market.candles(p, tf, t - 2 * tf.ms, t).closed_before(t)
            if len(c):
                mid = float(c.close[-1])
                broker.set_quote(p, mid * 0.9999, mid * 1.0001)

    base_ms: list[float] = []
    for t in ticks:  # baseline: slicing the window and the feature step only (no clock needed)
        t0 = time.perf_counter()
        for p in pairs:
            c = market.candles(p, tf, t - scan.settings.lookback_bars * tf.ms, t).closed_before(t)
            features(c)
        base_ms.append((time.perf_counter() - t0) * 1000)
    cyc_ms: list[float] = []
    n_signals = 0
    for t in ticks:
        clock.set(t)
        set_quotes(t)  # the broker's quote is outside the decision (the runtime reads it from the broker)
        t0 = time.perf_counter()
        rep = scan.run_once()
        cyc_ms.append((time.perf_counter() - t0) * 1000)
        n_signals += len(rep.signals)
    p50, p99 = statistics.median(cyc_ms), pct(cyc_ms, 0.99)
    b50, b99 = statistics.median(base_ms), pct(base_ms, 0.99)
    print(f"cycle decision latency over {args.cycles} cycles from {args.start} (3 symbols, real 5m candles)")
    print(f"  models: {desc if not gated else ', '.join(names)}")
    print(f"  cycle     p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   ({n_signals} signals)")
    print(f"  baseline  p50 {b50:7.2f} ms   p99 {b99:7.2f} ms   (window slice + features only)")
    print(f"  ratio     p50 {p50 / b50:5.1f}x   p99 {p99 / b99:5.1f}x")
    print(f"  RSS now {rss_mb():.0f} MiB, peak {peak_rss_mb():.0f} MiB")
    ok = p99 <= 50.0 and peak_rss_mb() <= 1024.0
    print(f"  targets p99 <= 50 ms, RSS <= 1024 MiB: {'MET' if ok else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
