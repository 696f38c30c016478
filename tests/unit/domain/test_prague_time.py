"""The precomputed summer-time table gives the calendar rule's offset everywhere (domain.prague_time)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from domain import prague_time as pt

PRAGUE = ZoneInfo("Europe/Prague")
FIRST = pt.dst_bounds_ms(pt.TABLE_YEARS[0])[0]
LAST = pt.dst_bounds_ms(pt.TABLE_YEARS[-1])[1]


def test_the_table_agrees_with_the_calendar_rule_around_every_switch() -> None:
    for year in pt.TABLE_YEARS:
        for bound in pt.dst_bounds_ms(year):
            for ts in (bound - 3_600_000, bound - 1, bound, bound + 1, bound + 3_600_000):
                assert pt.prague_offset_ms(ts) == pt._offset_from_calendar(ts), (year, ts)
    start, end = pt.dst_bounds_ms(2025)
    assert pt.prague_offset_ms(start - 1) == pt.CET_MS and pt.prague_offset_ms(start) == pt.CEST_MS
    assert pt.prague_offset_ms(end - 1) == pt.CEST_MS and pt.prague_offset_ms(end) == pt.CET_MS


@given(st.integers(min_value=-(10**13), max_value=10**13))
def test_the_offset_is_the_calendar_rule_inside_and_outside_the_table(ts: int) -> None:
    assert pt.prague_offset_ms(ts) == pt._offset_from_calendar(ts)


def test_instants_outside_the_table_use_the_calendar_rule() -> None:
    # before the table's first summer time and from the end of its last one on
    for ts in (FIRST - 1, LAST, LAST + 200 * 86_400_000):
        local = dt.datetime.fromtimestamp(ts / 1000, PRAGUE)
        offset = local.utcoffset()
        assert offset is not None
        if ts >= 0:  # the tz database knows no EU rule before 1996; the arithmetic applies it anyway
            assert pt.prague_offset_ms(ts) == int(offset.total_seconds() * 1000)
    summer_1969 = pt.dst_bounds_ms(1969)[0] + 1
    assert pt.prague_offset_ms(summer_1969) == pt.CEST_MS  # the rule, extrapolated as before
