"""One scan cycle's decision latency with trained models: candles in memory -> signals for BTC/ETH/BNB,
through the runtime's own features, LSTM + Transformer bundle, confidence, tiering, policy and FTMO
guard (the desk and confidence parameters come from the runtime's own builder, containers.runtime_decision).

The bundle: a tiny quick-profile LSTM + Transformer trained in this run on the real 5m candles of
the three pairs (the last 5,000 bars, one epoch each; as tests/integration/backtest does), promoted
with --force into a temporary models dir (it fails its gates: the figures are latency only). Pass
`--models-dir DIR` to time an existing promoted bundle instead.

Before the first timed cycle the runtime's start-up JIT warm-up runs (composition/runtime/warmup.py,
what `trading-ai run` does); its time is printed apart, and the first cycle is printed on its own
too (it must not be an outlier: nothing compiles there).

Baselines measured in the same run, over the same ticks: (1) the same cycles doing only the window
slice + the cycle's own feature step (ScanCycle.features_of: the newest rows the networks read, reused
between bar closes); (2) the momentum baseline's full cycle (the runtime without a bundle).

Targets: p99 <= 5 ms for 3 pairs with the trained bundle, RSS <= 1 GiB.
Run: .venv/bin/python bench/cycle.py [--cycles N] [--models-dir DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import attrs  # noqa: E402
import torch  # noqa: E402

from adapters.brokers.symbols import DEFAULT_SPECS  # noqa: E402
from adapters.market_data.bundled import BundledCandles  # noqa: E402
from adapters.mocks.broker import MockBroker  # noqa: E402
from adapters.mocks.clock import FakeClock  # noqa: E402
from adapters.mocks.event_bus import InMemoryEventBus  # noqa: E402
from adapters.mocks.market_data import InMemoryMarketData  # noqa: E402
from adapters.mocks.notifier import RecordingNotifier  # noqa: E402
from adapters.mocks.runtime_state import InMemoryRuntimeStateStore  # noqa: E402
from adapters.mocks.storage import InMemoryDeployments, InMemoryRiskBook, InMemorySignalLog  # noqa: E402
from composition.config import Config, load_config  # noqa: E402
from composition.containers import load_predictors, parse_date_ms, runtime_decision  # noqa: E402
from composition.runtime.resources import peak_rss_mb, rss_mb  # noqa: E402
from composition.runtime.warmup import warm_up_compiled  # noqa: E402
from domain.market import Timeframe  # noqa: E402
from domain.settings import live_lookback  # noqa: E402
from domain.signals import Mode  # noqa: E402
from services.scan_cycle import ScanCycle, ScanSettings  # noqa: E402

TARGET_P99_MS = 5.0


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def train_tiny_bundle(config: Config, root: Path) -> tuple[Path, float]:
    """A quick-profile bundle on the real candles, promoted with --force (latency only)."""
    from training.pipeline import quick_settings
    from training.registry import FileModelRegistry
    from training.service import train_and_record

    t0 = time.perf_counter()
    src = BundledCandles(config.data.candles_dir)
    candles = {p: src.candles(p, Timeframe.M5) for p in config.data.symbols}
    s = quick_settings(seed=int(config.seed), device="cpu")
    s = attrs.evolve(
        s, max_bars=5000, lstm_loop=attrs.evolve(s.lstm_loop, epochs=1), tf_loop=attrs.evolve(s.tf_loop, epochs=1)
    )
    out = train_and_record(candles, s, root / "models", root / "runs")
    FileModelRegistry(root / "models").promote(
        out.tag, "bench/cycle.py latency", InMemoryDeployments(), force=True, now_ms=1_000
    )
    return root / "models", time.perf_counter() - t0


def build_cycle(config: Config, market: InMemoryMarketData, start: int, log: logging.Logger) -> tuple[Any, ...]:
    """The scan cycle wired as RuntimeContainer.scan wires it (desk and confidence from runtime_decision)."""
    tf = Timeframe.parse(config.data.timeframe)
    pairs = tuple(config.data.symbols)
    predictors, features, _gated, desc = load_predictors(config, log)
    names = [getattr(p, "name", "") for p in predictors]
    desk, params, hysteresis_scans = runtime_decision(config, InMemoryRuntimeStateStore(), Mode.DRYRUN, log, names)
    clock = FakeClock(start)
    broker = MockBroker(DEFAULT_SPECS.values(), clock, config.risk.initial_balance)
    scan = ScanCycle(
        ScanSettings(
            pairs,
            tf,
            hysteresis_scans=hysteresis_scans,
            lookback_bars=live_lookback(getattr(features, "min_bars", 0)),
        ),
        desk,
        market,
        predictors,
        features,
        broker,
        RecordingNotifier(),
        InMemoryRiskBook(),
        InMemorySignalLog(),
        InMemoryEventBus(),
        clock,
        params,
    )
    return scan, clock, broker, desc


def time_cycles(
    scan: Any, clock: FakeClock, broker: MockBroker, market: InMemoryMarketData, ticks: list[int]
) -> tuple[list[float], int, list[bool]]:
    """Each cycle's milliseconds, the signals, and whether the cycle's windows differ from the last
    cycle's (a bar closed since: the features and the networks run; between closes the cycle reuses
    its last features and forward pass)."""
    tf = scan.settings.timeframe
    ms: list[float] = []
    fresh: list[bool] = []
    last: tuple[Any, ...] | None = None
    n_signals = 0
    for t in ticks:
        clock.set(t)
        wins = tuple(
            (len(w), int(w.ts[0]), int(w.ts[-1])) if len(w) else ()
            for w in (
                market.candles(p, tf, t - scan.settings.lookback_bars * tf.ms, t).closed_before(t)
                for p in scan.settings.pairs
            )
        )
        fresh.append(wins != last)
        last = wins
        for p in scan.settings.pairs:  # the broker's quote is outside the decision (read from the broker)
            c = market.candles(p, tf, t - 2 * tf.ms, t).closed_before(t)
            if len(c):
                mid = float(c.close[-1])
                broker.set_quote(p, mid * 0.9999, mid * 1.0001)
        t0 = time.perf_counter()
        rep = scan.run_once()
        ms.append((time.perf_counter() - t0) * 1000)
        n_signals += len(rep.signals)
    return ms, n_signals, fresh


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=400)
    ap.add_argument("--start", default="2025-10-01")
    ap.add_argument("--models-dir", default=None, help="an existing models dir with a promoted bundle")
    args = ap.parse_args()
    torch.set_num_threads(1)
    log = logging.getLogger("bench")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    base_config = load_config(env_file=None)
    tmp = tempfile.TemporaryDirectory(prefix="bench-cycle-")
    train_s = 0.0
    if args.models_dir:
        models = Path(args.models_dir)
    else:
        models, train_s = train_tiny_bundle(base_config, Path(tmp.name))
    config = load_config(env_file=None, environ={"MODELS_DIR": str(models)})
    tf = Timeframe.parse(config.data.timeframe)
    source = BundledCandles(config.data.candles_dir)
    market = InMemoryMarketData([source.candles(p, tf) for p in config.data.symbols])  # all in memory first
    start = parse_date_ms(args.start, "--start")
    ticks = [start + i * 120_000 for i in range(args.cycles)]

    scan, clock, broker, desc = build_cycle(config, market, start, log)
    if not any(getattr(p, "name", "") in ("lstm", "transformer") for p in scan.predictors):
        print(f"FAIL: no trained bundle loaded ({desc})", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    warm_s = warm_up_compiled(scan, log)  # what build_service runs at start-up
    cyc_ms, n_signals, fresh = time_cycles(scan, clock, broker, market, ticks)
    total_s = time.perf_counter() - t0

    base_ms: list[float] = []
    for t in ticks:  # baseline (1): the window slice and the cycle's own feature step only
        t1 = time.perf_counter()
        for p in scan.settings.pairs:
            c = market.candles(p, tf, t - scan.settings.lookback_bars * tf.ms, t).closed_before(t)
            scan.features_of(p, c)  # the newest rows the networks read, reused between bar closes
        base_ms.append((time.perf_counter() - t1) * 1000)
    mom_config = load_config(env_file=None, environ={"MODELS_DIR": str(Path(tmp.name) / "none")})
    mom_scan, mom_clock, mom_broker, _ = build_cycle(mom_config, market, start, log)
    warm_up_compiled(mom_scan, log)
    mom_ms, _mom_signals, _ = time_cycles(mom_scan, mom_clock, mom_broker, market, ticks)

    p50, p99 = statistics.median(cyc_ms), pct(cyc_ms, 0.99)
    b50, b99 = statistics.median(base_ms), pct(base_ms, 0.99)
    m50, m99 = statistics.median(mom_ms), pct(mom_ms, 0.99)
    pairs = len(scan.settings.pairs)
    print(
        f"cycle decision latency over {args.cycles} cycles from {args.start} ({pairs} symbols, real "
        f"{tf.value} candles, window {scan.settings.lookback_bars} bars)"
    )
    print(f"  models: {desc}" + (f" (trained in this run in {train_s:.0f} s)" if train_s else ""))
    print(f"  JIT warm-up at start-up (excluded): {warm_s * 1000:.0f} ms; first cycle {cyc_ms[0]:.2f} ms")
    print(
        f"  cycle, LSTM + Transformer  p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   ({n_signals} signals; "
        f"warm-up + all cycles {total_s:.1f} s)"
    )
    for label, want in (("at a bar close (new windows)", True), ("between two closes", False)):
        part = [x for x, f in zip(cyc_ms, fresh, strict=True) if f is want]
        if part:
            print(
                f"    {label:28s} p50 {statistics.median(part):7.2f} ms   p99 {pct(part, 0.99):7.2f} ms   "
                f"({len(part)} cycles)"
            )
    print(f"  baseline: slice + features p50 {b50:7.2f} ms   p99 {b99:7.2f} ms")
    print(f"  baseline: momentum cycle   p50 {m50:7.2f} ms   p99 {m99:7.2f} ms")
    print(f"  ratio to slice + features  p50 {p50 / b50:5.1f}x   p99 {p99 / b99:5.1f}x")
    print(f"  RSS now {rss_mb():.0f} MiB, peak {peak_rss_mb():.0f} MiB")
    ok = p99 <= TARGET_P99_MS and peak_rss_mb() <= 1024.0
    print(
        f"RESULT cycle models=lstm+transformer pairs={pairs} p50_ms={p50:.2f} p99_ms={p99:.2f} "
        f"first_ms={cyc_ms[0]:.2f} warmup_ms={warm_s * 1000:.0f} target_p99_ms={TARGET_P99_MS:g} "
        f"{'MET' if ok else 'NOT_MET'}"
    )
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
