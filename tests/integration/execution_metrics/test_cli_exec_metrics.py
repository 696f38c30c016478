"""`trading-ai exec-metrics` end to end: the OHLC estimate from the REAL 5m candles
(../shared/data), show, rollback, and the broker source through the Broker port (MockBroker)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from adapters.execution_metrics.cost_model import load_cost_model
from adapters.execution_metrics.json_store import JsonExecutionMetricsStore
from adapters.mocks.broker import MockBroker
from adapters.mocks.clock import FakeClock
from composition.cli import exec_metrics as cli_mod
from composition.cli import main
from composition.config import load_config
from domain.execution_costs import ExecutionModel
from domain.market import MS_PER_HOUR, Session
from domain.signals import Direction
from domain.trading import OrderRequest, SymbolSpec

ROOT = Path(__file__).resolve().parents[3]
PAIRS = ("BTC/USDT", "ETH/USDT", "BNB/USDT")


@pytest.fixture(scope="module")
def ohlc_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """Runs the real command once on the real 5m candles (about 5 s)."""
    store = tmp_path_factory.mktemp("exec_metrics")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_AI_")}
    env.update(DATA_DIR=str(store), COLUMNS="160")
    res = subprocess.run(
        [sys.executable, "-m", "composition", "exec-metrics", "update", "--source", "ohlc", "--as-of", "2025-11-01"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return store, res


def test_update_ohlc_on_real_candles(ohlc_store: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    store, res = ohlc_store
    assert res.returncode == 0, res.stderr
    for pair in PAIRS:
        for s in Session:
            assert any(pair in line and s.value in line for line in res.stdout.splitlines()), (pair, s)
    assert "ohlc-estimate" in res.stdout and "ESTIMATE" in res.stdout
    data = json.loads((store / "execution_metrics_2025-11-01.json").read_text())
    assert data["source"] == "ohlc-estimate" and data["schema_version"] == 1
    assert sorted(data["profiles"]) == sorted(PAIRS)
    assert (store / "execution_metrics.json").resolve().name == "execution_metrics_2025-11-01.json"
    for pair in PAIRS:
        for s in Session:
            cell = data["profiles"][pair][s.value]
            spread = cell["spread_bps"]
            # 5m bars over ~10 months: ~300 days x 9 session hours, minus exchange outages
            assert 2500 < spread["count"] <= 305 * 9
            assert 0 < spread["p50"] <= spread["p90"] and spread["mean"] > 0
            assert cell["slippage_bps"]["mean"] > 0
    # The estimators agree on the ordering seen in the data: BTC is the tightest pair in every session.
    for s in Session:
        btc = data["profiles"]["BTC/USDT"][s.value]["spread_bps"]["mean"]
        assert btc < data["profiles"]["ETH/USDT"][s.value]["spread_bps"]["mean"]


def test_show_rollback_and_cost_model(
    ohlc_store: tuple[Path, subprocess.CompletedProcess[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src, _ = ohlc_store
    for f in src.glob("execution_metrics_*.json"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "execution_metrics.json").symlink_to("execution_metrics_2025-11-01.json")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    store = JsonExecutionMetricsStore(tmp_path)
    model = store.load_current()
    store.save(ExecutionModel(model.profiles, source="copy", as_of=dt.date(2025, 11, 2)))

    assert main(["exec-metrics", "show"]) == 0
    assert "source: copy" in capsys.readouterr().out
    assert main(["exec-metrics", "rollback", "--to", "2025-11-01"]) == 0
    assert main(["exec-metrics", "show"]) == 0
    assert "ohlc-estimate" in capsys.readouterr().out
    assert main(["exec-metrics", "rollback", "--to", "2024-01-01"]) == 2
    assert "dates that exist: 2025-11-01, 2025-11-02" in capsys.readouterr().err

    cost = load_cost_model(load_config(env_file=None))
    assert isinstance(cost, ExecutionModel) and cost.source == "ohlc-estimate"
    draws = cost.sample_many(["BTC/USDT"] * 1000, [Session.LONDON] * 1000, np.random.default_rng(0))
    prof = cost.profile("BTC/USDT", Session.LONDON)
    assert abs(float(np.median(draws.spread_bps)) - prof.spread.p50) < 0.1 * prof.spread.p50


def _fill_broker(clock: FakeClock) -> MockBroker:
    broker = MockBroker([SymbolSpec(p, p.replace("/", "")) for p in PAIRS], clock)
    for i in range(6):  # six BTC buys during Tokyo-only hours (02:00-06:00 UTC), each 5 bps adverse
        clock.set(1_762_041_600_000 + (2 * MS_PER_HOUR) + i * 600_000)  # 2025-11-02 02:00 UTC + i*10min
        broker.set_quote("BTC/USDT", 100.04, 100.05)
        broker.place_order(OrderRequest(f"o{i}", "BTC/USDT", Direction.LONG, 0.1, sl=90.0, entry_hint=100.0))
    clock.set(1_762_041_600_000 + 23 * MS_PER_HOUR)
    for p in PAIRS:
        broker.set_quote(p, 100.0, 100.02)
    return broker


def test_update_broker_source_with_mock_broker(
    ohlc_store: tuple[Path, subprocess.CompletedProcess[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src, _ = ohlc_store
    (tmp_path / "execution_metrics_2025-11-01.json").write_bytes(
        (src / "execution_metrics_2025-11-01.json").read_bytes()
    )
    (tmp_path / "execution_metrics.json").symlink_to("execution_metrics_2025-11-01.json")
    clock = FakeClock()
    broker = _fill_broker(clock)
    monkeypatch.setitem(cli_mod.BROKER_SOURCES, "mock", lambda cfg: (broker, clock))
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BROKER", "mock")
    args = ["exec-metrics", "update", "--source", "broker", "--as-of", "2025-11-03", "--min-samples", "5"]
    assert main(args) == 0
    store = JsonExecutionMetricsStore(tmp_path)
    model = store.load_current()
    assert model.as_of == dt.date(2025, 11, 3) and model.source == "broker+ohlc-estimate"
    btc_tokyo = model.profile("BTC/USDT", Session.TOKYO)
    assert btc_tokyo.slippage.count == 6
    assert btc_tokyo.slippage.mean == pytest.approx(5.0, rel=1e-6)
    assert btc_tokyo.source.startswith("spread: ohlc-estimate (fallback") and "slippage: broker" in btc_tokyo.source
    old = store.load_file(store.path_for(dt.date(2025, 11, 1)))
    assert model.profile("ETH/USDT", Session.LONDON).slippage == old.profile("ETH/USDT", Session.LONDON).slippage
    # the snapshot was logged for the next runs
    assert len((tmp_path / cli_mod.QUOTE_LOG_NAME).read_text().splitlines()) == 3


def test_broker_source_without_fallback_refuses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    broker = _fill_broker(clock)
    monkeypatch.setitem(cli_mod.BROKER_SOURCES, "mock", lambda cfg: (broker, clock))
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BROKER", "mock")
    assert main(["exec-metrics", "update", "--source", "broker", "--min-samples", "5"]) == 2
    err = capsys.readouterr().err
    assert "too few broker samples" in err and "BTC/USDT tokyo spread: 0" in err
    assert not (tmp_path / "execution_metrics.json").exists()


def test_broker_kind_without_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BROKER", "paper")
    assert main(["exec-metrics", "update", "--source", "broker"]) == 2
    assert "circular" in capsys.readouterr().err
