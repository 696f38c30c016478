"""The scan loop's schedule, skip-not-queue rule and stop; /healthz over real HTTP (200 / 503)."""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request

import attrs
import pytest

from adapters.http.healthz import HealthInputs, HealthServer, evaluate
from composition.runtime.clocks import ReplayClock
from composition.runtime.loop import ScanLoop, next_tick

MIN = 60_000


def test_ticks_every_interval_and_at_every_bar_close() -> None:
    ticks, t = [], 0
    for _ in range(8):
        t = next_tick(t, 2 * MIN, 5 * MIN, 0)
        ticks.append(t // 1000)
    assert ticks == [120, 240, 300, 360, 480, 600, 720, 840]
    assert next_tick(300_000, 2 * MIN, 5 * MIN, 2_000) == 302_000
    assert next_tick(302_000, 2 * MIN, 5 * MIN, 2_000) == 362_000


def test_slow_cycle_skips_ticks_instead_of_queueing(caplog: pytest.LogCaptureFixture) -> None:
    clock = ReplayClock(1)  # just after a boundary: the first tick is the next one
    seen: list[int] = []

    def cycle(tick: int) -> None:
        seen.append(tick)
        if len(seen) == 2:
            clock.advance(250)  # this cycle takes 250 s of (fake) time: ticks at 360 s and 480 s pass

    log = logging.getLogger("test.loop")
    loop = ScanLoop(cycle, clock, log, interval_s=120, bar_ms=0, grace_ms=0, max_cycles=4, in_thread=False)
    with caplog.at_level(logging.WARNING, logger="test.loop"):
        stats = asyncio.run(loop.run())
    assert [t // 1000 for t in seen] == [120, 240, 600, 720]
    assert stats.skipped_ticks == 2 and stats.slow_cycles == 1 and stats.cycles == 4
    assert any(r.getMessage() == "cycle_slow" for r in caplog.records)


def test_a_failing_cycle_is_logged_and_the_loop_goes_on() -> None:
    calls: list[int] = []

    def cycle(tick: int) -> None:
        calls.append(tick)
        if len(calls) == 1:
            raise RuntimeError("boom")

    loop = ScanLoop(
        cycle, ReplayClock(0), logging.getLogger("test.loop"), interval_s=60, bar_ms=0, grace_ms=0, max_cycles=3
    )
    stats = asyncio.run(loop.run())
    assert stats.cycles == 3 and stats.failed == 1


def test_stop_lets_the_running_cycle_finish() -> None:
    finished: list[int] = []

    async def main() -> None:
        loop: ScanLoop

        def cycle(tick: int) -> None:
            loop.request_stop("SIGTERM")  # arrives mid-cycle
            import time

            time.sleep(0.05)
            finished.append(tick)

        loop = ScanLoop(cycle, ReplayClock(1), logging.getLogger("test.loop"), interval_s=60, bar_ms=0, grace_ms=0)
        stats = await loop.run()
        assert stats.cycles == 1 and stats.stopped_by_signal

    asyncio.run(main())
    assert finished == [60_000]


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_healthz_200_while_fresh_then_503_when_stale_over_http() -> None:
    clock = ReplayClock(1_000_000)
    last: dict[str, int | None] = {"cycle": None}

    def probe() -> HealthInputs:
        return HealthInputs(
            now_ms=clock.now_ms(),
            started_at_ms=1_000_000,
            last_cycle_at_ms=last["cycle"],
            interval_s=120,
            stale_after_s=300,
            checks={"db": True, "broker": True, "telegram": None},
        )

    async def main() -> list[tuple[int, dict[str, object]]]:
        server = HealthServer(probe, "127.0.0.1", 0)
        port = await server.start()
        url = f"http://127.0.0.1:{port}/healthz"
        out = []
        last["cycle"] = clock.now_ms()
        clock.advance(100)
        out.append(await asyncio.to_thread(_get, url))
        clock.advance(400)  # no cycle for 500 s > 300 s
        out.append(await asyncio.to_thread(_get, url))
        await server.stop()
        return out

    (c1, b1), (c2, b2) = asyncio.run(main())
    assert c1 == 200 and b1["status"] == "ok" and b1["cycle_lag_s"] == 100.0
    assert b1["checks"] == {"db": "ok", "broker": "ok", "telegram": "disabled"}
    assert c2 == 503 and b2["status"] == "stale" and b2["cycle_lag_s"] == 500.0


def test_health_rules() -> None:
    base = HealthInputs(
        now_ms=10_000, started_at_ms=0, last_cycle_at_ms=9_000, interval_s=120, stale_after_s=300, checks={}
    )
    assert evaluate(attrs.evolve(base, checks={"db": False}))[0] == 503
    code, body = evaluate(attrs.evolve(base, checks={"db": True, "telegram": False}))
    assert (code, body["status"]) == (200, "degraded")
