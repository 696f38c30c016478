"""Notifier contract. Factories get tmp_path and return (notifier, read_sent) where read_sent()
returns the list of texts delivered so far (from the fake server or the mock's record)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.notifier import RecordingNotifier
from domain.signals import Direction, Mode, Signal, Tier
from ports.notifier import Notifier


def _mock(tmp_path: Path) -> tuple[Notifier, Callable[[], list[str]]]:
    n = RecordingNotifier()

    def sent() -> list[str]:
        return (
            [f"{s.signal_id} {s.pair} {s.mode.value}" for s in n.signals]
            + [f"{k} {t}" for k, t in n.alerts]
            + [t for _, t in n.texts]
        )

    return n, sent


NOTIFIERS: list[Any] = [pytest.param(_mock, id="mock")]

SIG = Signal(
    "sig-1",
    "BTC/USDT",
    Direction.LONG,
    Tier.HIGH,
    0.74,
    40_000,
    42_000,
    39_000,
    2.0,
    0,
    ("lstm:v1",),
    ("bias:-0.05",),
    Mode.DRYRUN,
)


@pytest.fixture(params=NOTIFIERS)
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Notifier, Callable[[], list[str]]]:
    factory: Callable[[Path], tuple[Notifier, Callable[[], list[str]]]] = request.param
    return factory(tmp_path)


def test_signal_alert_text_are_delivered(pair: tuple[Notifier, Callable[[], list[str]]]) -> None:
    n, sent = pair
    assert isinstance(n, Notifier)
    send_signal: Callable[[Signal], object] = n.send_signal  # the port returns None: check no adapter returns more
    assert send_signal(SIG) is None
    n.send_alert("kill_switch", "blocked while kill switch on")
    n.send_text("hello operator")
    out = "\n".join(sent())
    assert "BTC/USDT" in out and "dryrun" in out.lower()
    assert "kill switch" in out.lower().replace("_", " ")
    assert "hello operator" in out


def test_same_signal_twice_is_sent_twice(pair: tuple[Notifier, Callable[[], list[str]]]) -> None:
    n, sent = pair
    n.send_signal(SIG)
    n.send_signal(SIG)
    assert sum("BTC/USDT" in s for s in sent()) == 2
