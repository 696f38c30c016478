"""The observation report's criteria fail when they should (hand-made log events)."""

from __future__ import annotations

from typing import Any

from composition.cli.observe_report import score

H = 3_600_000


def sig(at: int, **kw: Any) -> dict[str, Any]:
    e = {
        "event": "signal",
        "level": "info",
        "mode": "dryrun",
        "pair": "BTC/USDT",
        "tier": "HIGH",
        "conf": 0.7,
        "entry": 100.0,
        "tp": 104.0,
        "sl": 98.0,
        "rr": 2.0,
        "lat_ms": 3.0,
        "spread_bps": 1.0,
        "slip_bps": None,
        "direction": "long",
        "at_ms": at,
    }
    e.update(kw)
    return e


def base() -> list[dict[str, Any]]:
    return [
        {"event": "service_started", "level": "info"},
        *({"event": "cycle_done", "level": "info", "duration_ms": 10.0, "at_ms": i} for i in range(3)),
        {"event": "resource_sample", "level": "info", "rss_mb": 300, "cpu_pct": 5, "disk_free_mb": 9e4},
        {"event": "service_stopped", "level": "info"},
    ]


def verdicts(events: list[dict[str, Any]], db: int | None) -> dict[str, str]:
    crit = score(events, db_signal_count=db, max_per_hour=2, telegram_configured=False, interval_s=120)
    return {c.name: c.verdict for c in crit}


def test_clean_period_passes() -> None:
    v = verdicts([*base(), sig(0), sig(2 * H)], db=2)
    assert set(v.values()) == {"PASS", "N/A"}


def test_each_criterion_can_fail() -> None:
    events = [
        *base(),
        sig(0),
        sig(1),
        sig(2, tp=90.0),
        {"event": "cycle_failed", "level": "error"},
        {"event": "block", "reason": "daily_loss", "at_ms": 5},
        sig(5),
    ]
    events[-1]["at_ms"] = 5
    events.append({"event": "block", "reason": "kill_switch", "at_ms": 5})
    v = verdicts(events, db=3)
    assert v["zero crashes or unexpected errors"] == "FAIL"
    assert v["signals well-formed and logged"] == "FAIL"  # a TP on the wrong side, and 4 logged vs 3 stored
    assert v["FTMO rules and runtime policy enforced"] == "FAIL"  # 4 in an hour > 2, leak beside kill switch
    assert verdicts([*base(), sig(0)], db=None)["signals well-formed and logged"] == "FAIL"  # unverifiable
    rising = [*base(), {"event": "resource_sample", "rss_mb": 1500, "cpu_pct": 5, "disk_free_mb": 9e4}]
    assert verdicts([*rising, sig(0)], db=1)["stable CPU/RSS/disk"] == "FAIL"


def test_cpu_is_judged_per_cycle_against_the_interval_not_by_a_replays_wall_clock() -> None:
    """A replay at full speed is ~100% CPU by design; 0.5 s of CPU per 120 s cycle is 0.4%."""
    from composition.cli.observe_report import _cpu_share

    samples = [{"cpu_pct": 97.0, "cpu_s": 1.0, "cycles": 1}, {"cpu_pct": 96.0, "cpu_s": 51.0, "cycles": 101}]
    share, how = _cpu_share(samples, [97.0, 96.0], 120.0)
    assert abs(share - 100.0 * 0.5 / 120.0) < 1e-9 and "per cycle" in how
    heavy = [{"cpu_s": 0.0, "cycles": 1}, {"cpu_s": 7000.0, "cycles": 101}]  # 70 s per 120 s cycle
    assert _cpu_share(heavy, [10.0], 120.0)[0] > 50.0
    old_log = [{"cpu_pct": 12.0}, {"cpu_pct": 14.0}]  # no cpu_s: the wall-clock mean, as before
    assert _cpu_share(old_log, [12.0, 14.0], 120.0) == (13.0, "wall-clock mean")
