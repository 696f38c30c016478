"""session_end_ms: how long the loss backoff lasts (one rule for the live tracker and the batch engine)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.market import MS_PER_HOUR, SessionHours, primary_session, session_end_ms

DAY = 1_704_067_200_000  # 2024-01-01 00:00 UTC
H = MS_PER_HOUR


def test_end_of_the_latest_opened_session() -> None:
    assert session_end_ms(DAY + 3 * H) == DAY + 9 * H  # Tokyo 0-9
    assert session_end_ms(DAY + 8 * H) == DAY + 16 * H  # Tokyo+London: London opened last
    assert session_end_ms(DAY + 13 * H + 5) == DAY + 21 * H  # New York 12-21
    assert session_end_ms(DAY + 20 * H + 59 * 60_000) == DAY + 21 * H


def test_outside_every_session_one_hour() -> None:
    assert session_end_ms(DAY + 22 * H) == DAY + 23 * H  # 21-24 UTC: no session by default


def test_a_session_that_wraps_midnight_ends_the_next_day() -> None:
    hours = SessionHours(tokyo=(23, 8))
    assert session_end_ms(DAY + 23 * H + 30 * 60_000, hours) == DAY + 32 * H  # 08:00 the next day
    assert session_end_ms(DAY + 2 * H, hours) == DAY + 8 * H


@given(st.integers(DAY, DAY + 400 * 24 * H))
def test_always_in_the_future_and_within_a_day(at: int) -> None:
    end = session_end_ms(at)
    assert at < end <= at + 24 * H
    if primary_session(at) is None:
        assert end == at + H
