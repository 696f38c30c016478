"""The observation report's criteria fail when they should (hand-made log events)."""

from __future__ import annotations

from typing import Any

from composition.cli.observe_report import score

H = 3_600_000


def sig(at: int, **kw: Any) -> dict[str, Any]:
    e = {"event": "signal", "level": "info", "mode": "dryrun", "pair": "BTC/USDT", "tier": "HIGH", "conf": 0.7,
         "entry": 100.0, "tp": 104.0, "sl": 98.0, "rr": 2.0, "lat_ms": 3.0, "spread_bps": 1.0, "slip_bps": None,
         "direction": "long", "at_ms": at}
    e.update(kw)
    return e


def base() -> list[dict[str, Any]]:
    return [{"event": "service_started", "level": "info"},
            *({"event": "cycle_done", "level": "info", "duration_ms": 10.0, "at_ms": i} for i in range(3)),
            {"event": "resource_sample", "level": "info", "rss_mb": 300, "cpu_pct": 5, "disk_free_mb": 9e4},
            {"event": "service_stopped", "level": "info"}]


def verdicts(events: list[dict[str, Any]], db: int | None) -> dict[str, str]:
    crit = score(events, db_signal_count=db, max_per_hour=2, telegram_configured=False, interval_s=120)
    return {c.name: c.verdict for c in crit}


def test_clean_period_passes() -> None:
    v = verdicts([*base(), sig(0), sig(2 * H)], db=2)
    assert set(v.values()) == {"PASS", "N/A"}


def test_each_criterion_can_fail() -> None:
    events = [*base(), sig(0), sig(1), sig(2, tp=90.0), {"event": "cycle_failed", "level": "error"},
              {"event": "block", "reason": "daily_loss", "at_ms": 5}, sig(5)]
    events[-1]["at_ms"] = 5
    events.append({"event": "block", "reason": "kill_switch", "at_ms": 5})
    v = verdicts(events, db=3)
    assert v["zero crashes or unexpected errors"] == "FAIL"
    assert v["signals well-formed and logged"] == "FAIL"  # a TP on the wrong side, and 4 logged vs 3 stored
    assert v["FTMO rules and runtime policy enforced"] == "FAIL"  # 4 in an hour > 2, leak beside kill switch
    assert verdicts([*base(), sig(0)], db=None)["signals well-formed and logged"] == "FAIL"  # unverifiable
    rising = [*base(), {"event": "resource_sample", "rss_mb": 1500, "cpu_pct": 5, "disk_free_mb": 9e4}]
    assert verdicts([*rising, sig(0)], db=1)["stable CPU/RSS/disk"] == "FAIL"
