"""The runtime warms the compiled feature code at start-up, so the first live cycle compiles nothing.

Each probe runs in a fresh interpreter (numba's in-process state starts empty; its on-disk cache may
be warm or cold, both count: loading a cached signature adds it to the dispatcher just as compiling
does). The probe counts the compiled signatures of every numba dispatcher the process has loaded,
before and after the first cycle. Candles here are synthetic (a seeded random walk), labelled so:
this checks mechanics, not market figures.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]

PROBE = r"""
import json, logging, sys
import numpy as np
from numba.core.registry import CPUDispatcher

from adapters.brokers.symbols import DEFAULT_SPECS
from adapters.mocks.broker import MockBroker
from adapters.mocks.clock import FakeClock
from adapters.mocks.event_bus import InMemoryEventBus
from adapters.mocks.market_data import InMemoryMarketData
from adapters.mocks.notifier import RecordingNotifier
from adapters.mocks.storage import InMemoryRiskBook, InMemorySignalLog
from composition.runtime.warmup import warm_up_compiled
from domain.backtest.baseline import MomentumSignPredictor
from domain.confidence import ConfidenceParams
from domain.features import FeatureParams, compute_features, warmup_bars
from domain.market import Candles, Timeframe
from domain.signals import TierThresholds
from ports.runtime_state import RuntimeState
from services.execution import RiskDesk
from domain.ftmo import FtmoRules
from domain.policy import PolicyConfig
from services.scan_cycle import ScanCycle, ScanSettings

def signatures():
    out = {}
    for name, mod in list(sys.modules.items()):
        if not name.startswith(("domain", "services", "training")):
            continue
        for attr, obj in list(vars(mod).items()):
            if isinstance(obj, CPUDispatcher):
                out[f"{name}.{attr}"] = len(obj.signatures)
    return out

warm = sys.argv[1] == "warm"
read_only = sys.argv[2:] == ["read-only"]  # the bundled candle store's arrays are read-only
tf = Timeframe.M5
pairs = ("BTC/USDT", "ETH/USDT")
rng = np.random.default_rng(5)
n = 3000
series = []
for p in pairs:  # synthetic candles (a seeded random walk): mechanics only
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    ts = (np.arange(n, dtype=np.int64) + 5_000_000) * tf.ms
    arrays = [ts, close, close * 1.002, close * 0.998, close.copy(), rng.uniform(1, 9, n)]
    for a in arrays:
        a.flags.writeable = not read_only
    series.append(Candles(p, tf, *arrays))
now = int(series[0].ts[-1]) + tf.ms
clock = FakeClock(now)
params = FeatureParams()
features = lambda c: compute_features(c, params)  # what training.predictor.RuntimeFeatures calls (no torch here)
min_bars = warmup_bars(params, tf) + 16 + 1
desk = RiskDesk(FtmoRules(), PolicyConfig(), RuntimeState("dryrun", TierThresholds()))
scan = ScanCycle(ScanSettings(pairs, tf, lookback_bars=min_bars), desk, InMemoryMarketData(series),
                 [MomentumSignPredictor()], features, MockBroker(DEFAULT_SPECS.values(), clock, 100_000.0),
                 RecordingNotifier(), InMemoryRiskBook(), InMemorySignalLog(), InMemoryEventBus(), clock,
                 ConfidenceParams())
log = logging.getLogger("probe")
s0 = signatures()
if warm:
    warm_up_compiled(scan, log)
s1 = signatures()
scan.run_once()
s2 = signatures()
new = sorted(k for k in s2 if s2[k] != s1.get(k, 0))
print("JSON" + json.dumps({"before": sum(s0.values()), "after_warm_up": sum(s1.values()),
                           "after_cycle": sum(s2.values()), "new_in_cycle": new}))
"""


def _probe(mode: str, *extra: str) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    env.pop("NUMBA_DISABLE_JIT", None)
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode, *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("JSON"))
    out_: dict[str, Any] = json.loads(line[4:])
    return out_


def test_after_the_start_up_warm_up_the_first_cycle_compiles_nothing() -> None:
    r = _probe("warm")
    assert r["after_warm_up"] > r["before"], r  # the warm-up did compile (or load) the feature code
    assert r["after_cycle"] == r["after_warm_up"], r["new_in_cycle"]


def test_read_only_candles_compile_nothing_in_the_first_cycle_either() -> None:
    """numba types a read-only array apart from a writable one: the warm-up covers both."""
    r = _probe("warm", "read-only")
    assert r["after_cycle"] == r["after_warm_up"], r["new_in_cycle"]


def test_without_the_warm_up_the_first_cycle_would_compile() -> None:
    """The probe can fail: skipping the warm-up leaves the compilation to the first cycle."""
    r = _probe("cold")
    assert r["after_cycle"] > r["after_warm_up"] == r["before"], r


def test_the_runtime_warms_up_at_start_up(tmp_path: Path) -> None:
    """build_service (what `trading-ai run` calls) runs the warm-up before any cycle."""
    import io

    from composition.config import load_config
    from composition.containers import RunOptions, parse_date_ms
    from composition.logging_setup import configure_logging
    from composition.runtime.launch import build_service
    from tests.integration.storage.migrated import migrated_sqlite_url

    config = load_config(
        env_file=None,
        environ={
            "DATABASE_URL": migrated_sqlite_url(tmp_path / "rt.sqlite3"),
            "LOG_FORMAT": "json",
            "DATA_DIR": str(tmp_path),
        },
    )
    stream = io.StringIO()
    log = configure_logging(config, mode="dryrun", stream=stream)
    try:
        options = RunOptions(
            mode="dryrun",
            replay_from_ms=parse_date_ms("2025-10-01", "start"),
            cycles=1,
            cost_model="fixed",
            spread_bps=2.0,
            slippage_bps=1.0,
            health=False,
            console_signals=False,
        )
        parts, _extras = build_service(config, options, log)
        events = [json.loads(x) for x in stream.getvalue().splitlines() if x.startswith("{")]
        assert [e for e in events if e["event"] == "jit_warm_up"], [e["event"] for e in events]
        assert parts.loop.stats.cycles == 0  # before the first cycle
    finally:
        logging.getLogger("trading_ai").handlers.clear()


if os.environ.get("NUMBA_DISABLE_JIT") == "1":  # nothing compiles: the probes would prove nothing
    pytestmark = pytest.mark.skip(reason="NUMBA_DISABLE_JIT=1: no compilation to warm")
