"""/healthz is cheap (issue 20): it answers from the snapshot each cycle writes and never calls the
broker or the database per request; each client is rate limited (429 + Retry-After past its burst).
A replay over the real 5m candles with the health endpoint on a free port."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from adapters.http.healthz import HealthPortUnavailable, RateLimiter, check_port
from composition.config import load_config
from composition.containers import RunOptions, parse_date_ms
from composition.logging_setup import configure_logging
from composition.runtime.launch import build_service
from composition.runtime.service import serve
from tests.integration.storage.migrated import migrated_sqlite_url


@pytest.fixture(autouse=True)
def _restore_logger() -> Any:
    yield
    logging.getLogger("trading_ai").handlers.clear()


def test_requests_read_the_snapshot_and_never_reach_broker_or_database(tmp_path: Path) -> None:
    config = load_config(
        env_file=None,
        environ={
            "DATABASE_URL": migrated_sqlite_url(tmp_path / "rt.sqlite3"),
            "LOG_FORMAT": "json",
            "DATA_DIR": str(tmp_path),
        },
    )
    options = RunOptions(
        replay_from_ms=parse_date_ms("2025-10-01", "d"),
        speed=1500.0,
        cycles=60,
        cost_model="fixed",
        spread_bps=2.0,
        slippage_bps=1.0,
        health=True,
        health_port=0,
        console_signals=False,
    )
    parts, _extras = build_service(config, options, configure_logging(config, mode="dryrun", stream=io.StringIO()))
    calls = {"db": 0, "broker": 0}

    def counted(name: str, fn: Any) -> Any:
        def check() -> Any:
            calls[name] += 1
            return fn()

        return check

    for name in calls:
        parts.checks[name] = counted(name, parts.checks[name])
    assert parts.health is not None
    parts.health.limiter = RateLimiter(rate_per_s=1.0, burst=150)
    codes: list[int] = []
    bodies: list[dict[str, Any]] = []

    async def main() -> None:
        task = asyncio.create_task(serve(parts, install_signals=False))
        while parts.health is not None and parts.health._runner is None:
            await asyncio.sleep(0.01)
        url = f"http://127.0.0.1:{parts.health.port}/healthz"  # type: ignore[union-attr]
        async with aiohttp.ClientSession() as session:
            for _ in range(200):
                async with session.get(url) as r:
                    codes.append(r.status)
                    bodies.append(await r.json())
                if task.done():
                    break
            # on a loaded machine the 200 requests can all come before the first cycle ends: keep
            # asking (past the burst, about one answer a second) until an answer has seen a cycle
            while not task.done() and not any(c != 429 and b["cycles"] > 0 for b, c in zip(bodies, codes, strict=True)):
                await asyncio.sleep(0.2)
                async with session.get(url) as r:
                    codes.append(r.status)
                    bodies.append(await r.json())
        await task

    asyncio.run(main())
    answered = [b for b, c in zip(bodies, codes, strict=True) if c != 429]
    assert len(answered) >= 100 and all(b["checks"]["broker"] == "ok" for b in answered)
    assert max(b["cycles"] for b in answered) > 0  # requests spanned cycles
    # one start snapshot, then every cycle succeeded: nothing asked the broker or the database again
    assert parts.loop.stats.failed == 0 and calls == {"db": 1, "broker": 1}
    assert 429 in codes and codes.index(429) >= 150  # the burst, then the limit


def test_rate_limiter_refills_per_client() -> None:
    now = [0.0]
    lim = RateLimiter(rate_per_s=2.0, burst=3, clock=lambda: now[0])
    assert [lim.allow("a")[0] for _ in range(4)] == [True, True, True, False]
    assert lim.allow("b")[0]  # another client has its own bucket
    ok, wait = lim.allow("a")
    assert not ok and wait == pytest.approx(0.5)
    now[0] = 0.5
    assert lim.allow("a")[0] and not lim.allow("a")[0]


def test_a_busy_or_invalid_health_port_is_one_line() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(HealthPortUnavailable, match=f"health port 127.0.0.1:{port} is not available"):
            check_port("127.0.0.1", port)
    with pytest.raises(HealthPortUnavailable, match="out of range"):
        check_port("127.0.0.1", 70000)
    check_port("127.0.0.1", 0)
