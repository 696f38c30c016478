"""A signal and its risk-book row are committed in ONE unit of work before the notification (issue 8).

Synthetic mock candles: mechanics only.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.mocks.storage import InMemoryStorage
from domain.signals import Signal
from ports.errors import StorageError


def _transactional(system: Any) -> InMemoryStorage:
    store = InMemoryStorage()
    system.cycle.risk_book, system.cycle.signal_log = store.risk_book, store.signal_log
    system.cycle.unit_of_work = store.unit_of_work
    system.risk_book, system.log = store.risk_book, store.signal_log
    return store


def test_signal_and_record_commit_together_before_notify(live_system: Any) -> None:
    store = _transactional(live_system)
    seen: list[tuple[str | None, bool, int]] = []
    send = live_system.notifier.send_signal

    def spy(sig: Signal) -> None:  # what the store holds at the moment the notification goes out
        seen.append(
            (store.signal_log.status(sig.signal_id), store.risk_book.get(sig.signal_id) is not None, store.commits)
        )
        send(sig)

    live_system.notifier.send_signal = spy
    live_system.scan()
    sig = live_system.scan().signals[0]
    assert seen == [("pending", True, 1)]  # one commit held both rows before the notifier ran
    assert store.signal_log.status(sig.signal_id) == "sent"
    assert store.risk_book.get(sig.signal_id) is not None


def test_a_failed_commit_records_nothing_and_notifies_nothing(system: Any) -> None:
    store = _transactional(system)
    system.scan()
    store.fail_next_commit = StorageError("disk full")
    with pytest.raises(StorageError):
        system.scan()
    assert store.signal_log.signals() == [] and store.risk_book.records() == []
    assert system.notifier.signals == []


def test_notifier_failure_leaves_the_committed_signal_pending(system: Any) -> None:
    store = _transactional(system)
    system.scan()
    system.notifier.fail_next = 1
    sig = system.scan().signals[0]
    assert store.signal_log.status(sig.signal_id) == "pending" and store.risk_book.get(sig.signal_id) is not None
    assert [s.signal_id for s in store.signal_log.pending()] == [sig.signal_id]
