"""AlertingNotifier: blocked attempts of one kind share a 15-minute throttle (all logged); a floor crossing,
which services.execution sends once per breach episode, is never held back by an attempt alert."""

from __future__ import annotations

import logging

import pytest

from adapters.mocks.clock import FakeClock
from adapters.mocks.notifier import RecordingNotifier
from composition.runtime.service import AlertingNotifier

MINUTE = 60_000


def test_a_floor_crossing_is_not_held_back_by_an_earlier_attempt_alert(caplog: pytest.LogCaptureFixture) -> None:
    inner, clock = RecordingNotifier(), FakeClock()
    n = AlertingNotifier(inner, logging.getLogger("test.alerts"), clock)
    caplog.set_level(logging.WARNING, logger="test.alerts")
    n.send_alert("guardrail_breach", "blocked BTC/USDT HIGH: would breach the daily_loss limit (headroom 3.10)")
    clock.advance(2 * MINUTE)
    n.send_alert("guardrail_breach", "blocked ETH/USDT HIGH: would breach the daily_loss limit (headroom 1.20)")
    clock.advance(2 * MINUTE)
    n.send_alert("guardrail_breach", "daily_loss floor breached: equity 95400.00 < 95500.00")
    clock.advance(2 * MINUTE)
    n.send_alert("guardrail_breach", "blocked BNB/USDT HIGH: would breach the daily_loss limit (headroom 0.50)")
    sent = [text for _, text in inner.alerts]
    assert sent == [
        "blocked BTC/USDT HIGH: would breach the daily_loss limit (headroom 3.10)",
        "daily_loss floor breached: equity 95400.00 < 95500.00",
    ]
    assert n.counts["guardrail_breach"] == 4 and len(caplog.records) == 4  # every alert is logged
    clock.advance(15 * MINUTE)  # the attempts' throttle has passed: the next one goes out with the count
    n.send_alert("guardrail_breach", "blocked BTC/USDT LOW: would breach the daily_loss limit (headroom 0.10)")
    assert inner.alerts[-1][1].endswith("(+2 similar since the last alert)")
