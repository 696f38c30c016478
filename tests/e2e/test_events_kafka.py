"""EVENT_BUS=kafka end to end on a tansu broker: `events create-topics`, a dry-run replay over the real 5m
candles publishes every signal and block, /healthz shows the downstream group's lag while it runs,
`events tail signals` reads the signals back as that group and `events lag` sees the blocks unread."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from adapters.storage import migrate
from composition.cli import main
from composition.config import load_config
from composition.containers import RunOptions, parse_date_ms
from composition.logging_setup import configure_logging
from composition.runtime.launch import build_service
from composition.runtime.service import serve
from tests.integration.events.tansu import shared_broker, unique_prefix

ROOT = Path(__file__).resolve().parents[2]


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as r:
        return bytes(r.read())


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_AI_", "KAFKA_", "EVENT_BUS"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "composition", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_kafka_replay_publishes_every_signal_and_block_tail_reads_them_healthz_shows_lag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    broker = shared_broker()
    prefix = unique_prefix()
    kafka_env = {
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "KAFKA_GROUP": f"downstream-{prefix}",
        "KAFKA_SESSION_TIMEOUT_MS": "1000",
    }
    for k, v in kafka_env.items():
        monkeypatch.setenv(k, v)
    assert main(["--env-file", "", "events", "create-topics", "--partitions", "1"]) == 0
    assert f"{prefix}signals: created" in capsys.readouterr().out

    environ = {
        **kafka_env,
        "EVENT_BUS": "kafka",
        "KAFKA_LAG_INTERVAL_S": "0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'rt.sqlite3'}",
        "LOG_FORMAT": "json",
        "DATA_DIR": str(tmp_path),
        "SYMBOLS": "BTC/USDT,ETH/USDT",  # two pairs keep the data import short; keys still differ
    }
    config = load_config(env_file=None, environ=environ)
    migrate.upgrade(config.database.url)  # as `trading-ai db upgrade` does on a fresh install
    stream = io.StringIO()
    log = configure_logging(config, mode="dryrun", stream=stream)
    options = RunOptions(
        mode="dryrun",
        replay_from_ms=parse_date_ms("2025-10-01", "start"),
        cycles=50,
        cost_model="fixed",
        spread_bps=2.0,
        slippage_bps=1.0,
        health=True,
        health_port=0,
        console_signals=False,
        telegram=False,
    )
    try:
        parts, extras = build_service(config, options, log)
        bodies: list[dict[str, Any]] = []
        seen_lag = threading.Event()
        cycle = parts.loop.cycle

        def held_cycle(tick_ms: int) -> Any:
            # Mid-replay, in the cycle's worker thread (the event loop and /healthz keep going): after cycle
            # 25 wait for the bus to have measured a lag, after cycle 26 (whose /healthz snapshot carries
            # it) until /healthz has shown it.
            out = cycle(tick_ms)
            n = parts.cycle.n.cycles
            deadline = time.monotonic() + 15
            while n == 25 and not (parts.status["event_bus"]().get("kafka_lag_ms") or 0) > 0:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            if n == 26:
                seen_lag.wait(15)
            return out

        parts.loop.cycle = held_cycle

        async def poll() -> None:
            assert parts.health is not None
            while not seen_lag.is_set():
                await asyncio.sleep(0.1)
                if parts.health._runner is None:
                    continue
                raw = await asyncio.to_thread(get, f"http://127.0.0.1:{parts.health.port}/healthz")
                body = json.loads(raw)
                bodies.append(body)
                if (body.get("event_bus") or {}).get("kafka_lag_ms"):
                    seen_lag.set()

        async def run() -> None:
            poller = asyncio.create_task(poll())
            await serve(parts, install_signals=False)
            poller.cancel()

        asyncio.run(run())
    finally:
        logging.getLogger("trading_ai").handlers.clear()

    assert seen_lag.is_set(), bodies[-1:]
    assert parts.loop.stats.cycles == 50 and parts.loop.stats.failed == 0
    health = bodies[-1]
    assert health["checks"]["event_bus"] == "ok"
    bus = health["event_bus"]
    assert bus["kind"] == "kafka" and bus["broker_reachable"] is True and bus["dropped"] == 0
    assert bus["lag_group"] == f"downstream-{prefix}" and bus["kafka_lag_ms"] > 0 and bus["kafka_lag_records"] > 0
    lines = [json.loads(x) for x in stream.getvalue().splitlines() if x.startswith("{")]
    assert any(e["event"] == "kafka_lag" for e in lines)

    stored = extras["repos"]["signal_log"].signals()
    n_blocks = sum(parts.cycle.n.blocks.values())
    assert stored and n_blocks > 0
    tailed = cli(
        "events",
        "tail",
        "signals",
        "--from-beginning",
        "--json",
        "--max",
        str(len(stored)),
        "--idle-timeout",
        "10",
        env=kafka_env,
    )
    assert tailed.returncode == 0, tailed.stderr
    events = [json.loads(x) for x in tailed.stdout.splitlines()]
    assert sorted(e["event"]["signal_id"] for e in events) == sorted(s.signal_id for s in stored)
    assert all(e["event"]["mode"] == "replay" and e["event"]["schema_version"] == 1 for e in events)  # a replay
    assert all(e["key"] == e["event"]["pair"] for e in events)

    capsys.readouterr()
    assert main(["--env-file", "", "events", "lag", "--json"]) == 0
    parts_by_topic = {p["topic"]: p for p in json.loads(capsys.readouterr().out)["partitions"]}
    assert parts_by_topic[f"{prefix}signals"]["lag_records"] == 0  # the tail committed every signal
    assert parts_by_topic[f"{prefix}blocks"]["lag_records"] == n_blocks  # every block is on Kafka, unread
