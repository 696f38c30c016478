"""Europe/Prague civil time from a pure EU DST rule (no tz database).

Every function is compiled with numba (`@njit(cache=True)`), so the backtest's compiled kernel and
Python callers (the live desk, the FTMO ledger) run the same code; `NUMBA_DISABLE_JIT=1` runs it as
Python.

Since 1996 the EU switches to summer time (CEST, UTC+2) at 01:00 UTC on the last Sunday of March
and back to CET (UTC+1) at 01:00 UTC on the last Sunday of October. FTMO resets its daily loss at
midnight Prague time, so these are all the rules we need.
"""

from __future__ import annotations

from typing import Final

import numba
import numpy as np

from domain.market import MS_PER_DAY, MS_PER_HOUR

CET_MS: Final = MS_PER_HOUR
CEST_MS: Final = 2 * MS_PER_HOUR


@numba.njit(cache=True)
def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@numba.njit(cache=True)
def civil_from_days(z: int) -> tuple[int, int, int]:
    """(year, month, day) of a day number since 1970-01-01."""
    z += 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return (y + (m <= 2), m, d)


@numba.njit(cache=True)
def last_sunday_day(year: int, month: int) -> int:
    """Day number (since epoch) of the last Sunday of a month."""
    first_next = days_from_civil(year + (month == 12), 1 if month == 12 else month + 1, 1)
    last = first_next - 1
    weekday = (last + 3) % 7  # 0 = Monday; epoch day 0 was a Thursday
    return last - (weekday - 6) % 7


@numba.njit(cache=True)
def dst_bounds_ms(year: int) -> tuple[int, int]:
    """UTC instants [start, end) of summer time in that year."""
    start = last_sunday_day(year, 3) * MS_PER_DAY + MS_PER_HOUR
    end = last_sunday_day(year, 10) * MS_PER_DAY + MS_PER_HOUR
    return start, end


@numba.njit(cache=True)
def _offset_from_calendar(ts_ms: int) -> int:
    year = civil_from_days(ts_ms // MS_PER_DAY)[0]
    start, end = dst_bounds_ms(year)
    return CEST_MS if start <= ts_ms < end else CET_MS


# The rule above evaluated once for TABLE_YEARS: the summer-time bounds start_y, end_y of every year in
# order, so an instant inside them is in summer time exactly when an odd number of bounds is <= it (the
# calendar arithmetic per call was the backtest's hottest path). Instants outside use the arithmetic.
TABLE_YEARS: Final = range(1970, 2201)
_BOUNDS: Final = np.array(
    [b for y in TABLE_YEARS for b in getattr(dst_bounds_ms, "py_func", dst_bounds_ms)(y)], dtype=np.int64
)  # built in Python (py_func): importing the module compiles nothing


@numba.njit(cache=True)
def prague_offset_ms(ts_ms: int) -> int:
    """UTC offset of Prague at the UTC instant ts_ms: 1 h (CET) or 2 h (CEST)."""
    if _BOUNDS[0] <= ts_ms < _BOUNDS[-1]:
        return CEST_MS if np.searchsorted(_BOUNDS, ts_ms, side="right") & 1 else CET_MS
    return _offset_from_calendar(ts_ms)


@numba.njit(cache=True)
def prague_day(ts_ms: int) -> int:
    """The Prague civil day (days since epoch) containing ts_ms."""
    return (ts_ms + prague_offset_ms(ts_ms)) // MS_PER_DAY


@numba.njit(cache=True)
def prague_midnight_ms(day: int) -> int:
    """UTC instant of midnight starting Prague civil day `day` (midnight is never in a DST gap)."""
    local = day * MS_PER_DAY
    guess = local - CET_MS
    return local - prague_offset_ms(guess)


@numba.njit(cache=True)
def day_start_ms(ts_ms: int) -> int:
    """UTC instant of the last Prague midnight at or before ts_ms (FTMO's daily reset)."""
    return prague_midnight_ms(prague_day(ts_ms))


@numba.njit(cache=True)
def next_day_start_ms(ts_ms: int) -> int:
    """UTC instant of the next Prague midnight strictly after ts_ms."""
    return prague_midnight_ms(prague_day(ts_ms) + 1)
