"""Market vocabulary: symbols, timeframes, candles and trading sessions.

Candle timestamps are bar OPEN times in epoch milliseconds, UTC. Everything here is pure and
vectorised: no loops over bars.
"""

from __future__ import annotations

import enum
import re
from typing import Final

import attrs
import numba
import numpy as np
import numpy.typing as npt

from domain.errors import UserError

MS_PER_MINUTE: Final = 60_000
MS_PER_HOUR: Final = 3_600_000
MS_PER_DAY: Final = 86_400_000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class InvalidTimeframe(UserError):
    """A timeframe string is not one of the supported ones."""


class InvalidSymbol(UserError):
    """A symbol is not of the form BASE/QUOTE (e.g. BTC/USDT)."""


class Timeframe(enum.Enum):
    """A candle period; the value is its canonical string ("1m", "1h", ...)."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @property
    def minutes(self) -> int:
        return _TF_MINUTES[self._value_]

    @property
    def ms(self) -> int:
        return _TF_MS[self._value_]

    @classmethod
    def parse(cls, text: str | Timeframe) -> Timeframe:
        """Parse "1m", "5m", "15m", "1h", "4h", "1d" (case-insensitive, surrounding spaces ignored)."""
        if isinstance(text, Timeframe):
            return text
        key = str(text).strip().lower()
        for tf in cls:
            if tf.value == key:
                return tf
        valid = ", ".join(tf.value for tf in cls)
        raise InvalidTimeframe(f"unknown timeframe {text!r}; valid timeframes: {valid}")

    def __str__(self) -> str:
        return self.value


_TF_MINUTES: Final[dict[str, int]] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240, "1d": 1440}
_TF_MS: Final[dict[str, int]] = {k: v * MS_PER_MINUTE for k, v in _TF_MINUTES.items()}

_SYMBOL_RE: Final = re.compile(r"^[A-Z0-9]{2,15}/[A-Z0-9]{2,15}$")


def validate_symbol(symbol: str) -> str:
    """Return the canonical upper-case symbol "BASE/QUOTE" or raise `InvalidSymbol`."""
    canon = str(symbol).strip().upper()
    if not _SYMBOL_RE.match(canon):
        raise InvalidSymbol(f"invalid symbol {symbol!r}; expected BASE/QUOTE such as BTC/USDT")
    return canon


def _as_i64(value: object) -> IntArray:
    return np.ascontiguousarray(np.asarray(value, dtype=np.int64))


def _as_f64(value: object) -> FloatArray:
    return np.ascontiguousarray(np.asarray(value, dtype=np.float64))


@attrs.frozen(eq=False)
class Candles:
    """OHLCV bars of one symbol and timeframe, column arrays of equal length, ts strictly increasing.

    `eq=False` because numpy arrays do not compare to a single bool; use `equals()`.
    """

    symbol: str
    timeframe: Timeframe
    ts: IntArray = attrs.field(converter=_as_i64)
    open: FloatArray = attrs.field(converter=_as_f64)
    high: FloatArray = attrs.field(converter=_as_f64)
    low: FloatArray = attrs.field(converter=_as_f64)
    close: FloatArray = attrs.field(converter=_as_f64)
    volume: FloatArray = attrs.field(converter=_as_f64)

    def __attrs_post_init__(self) -> None:
        n = self.ts.shape[0]
        for name in ("open", "high", "low", "close", "volume"):
            arr = getattr(self, name)
            if arr.ndim != 1 or arr.shape[0] != n:
                raise ValueError(f"Candles.{name} has shape {arr.shape}, expected ({n},)")
        if self.ts.ndim != 1:
            raise ValueError("Candles.ts must be one-dimensional")
        if n > 1 and not bool(np.all(np.diff(self.ts) > 0)):
            raise ValueError("Candles.ts must be strictly increasing")

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def empty(cls, symbol: str, timeframe: Timeframe) -> Candles:
        z = np.zeros(0)
        return cls(symbol, timeframe, np.zeros(0, dtype=np.int64), z, z, z, z, z)

    def _take(self, sl: slice) -> Candles:
        """A run of these bars. Built without the constructor's checks, which a contiguous slice of
        valid bars passes by construction (the live cycle slices its windows several times a cycle)."""
        out = object.__new__(Candles)
        for name, value in (
            ("symbol", self.symbol),
            ("timeframe", self.timeframe),
            ("ts", self.ts[sl]),
            ("open", self.open[sl]),
            ("high", self.high[sl]),
            ("low", self.low[sl]),
            ("close", self.close[sl]),
            ("volume", self.volume[sl]),
        ):
            object.__setattr__(out, name, value)
        return out

    def copy(self) -> Candles:
        """The same bars in arrays of their own (no checks: these bars passed them)."""
        out = object.__new__(Candles)
        for name in ("symbol", "timeframe"):
            object.__setattr__(out, name, getattr(self, name))
        for name in ("ts", "open", "high", "low", "close", "volume"):
            object.__setattr__(out, name, getattr(self, name).copy())
        return out

    def slice_until(self, ts_ms: int) -> Candles:
        """Bars whose open time is <= ts_ms (what was known at or before that instant's bar)."""
        end = int(np.searchsorted(self.ts, ts_ms, side="right"))
        return self._take(slice(0, end))

    def closed_before(self, now_ms: int) -> Candles:
        """Bars fully closed at now_ms: open time + period <= now_ms (no look-ahead in live use)."""
        end = int(np.searchsorted(self.ts, now_ms - self.timeframe.ms, side="right"))  # ts + period <= now
        return self._take(slice(0, end))

    def between(self, start_ms: int | None = None, end_ms: int | None = None) -> Candles:
        """Bars with start_ms <= ts < end_ms (either bound optional)."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.ts, start_ms, side="left"))
        hi = len(self) if end_ms is None else int(np.searchsorted(self.ts, end_ms, side="left"))
        return self._take(slice(lo, max(lo, hi)))

    def tail(self, n: int) -> Candles:
        return self._take(slice(max(0, len(self) - n), len(self)))

    @property
    def last_ts(self) -> int | None:
        return int(self.ts[-1]) if len(self) else None

    def equals(self, other: Candles) -> bool:
        return (
            self.symbol == other.symbol
            and self.timeframe is other.timeframe
            and all(
                np.array_equal(getattr(self, f), getattr(other, f))
                for f in ("ts", "open", "high", "low", "close", "volume")
            )
        )


class Session(enum.Enum):
    """The three FX/crypto trading sessions by their financial centre."""

    TOKYO = "tokyo"
    LONDON = "london"
    NEW_YORK = "new_york"


@attrs.frozen
class SessionHours:
    """UTC opening hours [start, end) of each session; end < start wraps past midnight."""

    tokyo: tuple[int, int] = (0, 9)
    london: tuple[int, int] = (7, 16)
    new_york: tuple[int, int] = (12, 21)

    def __attrs_post_init__(self) -> None:
        for name in ("tokyo", "london", "new_york"):
            start, end = getattr(self, name)
            if not (0 <= start <= 23 and 0 <= end <= 24 and start != end):
                raise ValueError(f"session {name} hours {start}-{end} invalid (0..24, start != end)")

    def of(self, session: Session) -> tuple[int, int]:
        return {Session.TOKYO: self.tokyo, Session.LONDON: self.london, Session.NEW_YORK: self.new_york}[session]


DEFAULT_SESSION_HOURS: Final = SessionHours()


def utc_hour(ts_ms: object) -> IntArray:
    """Hour of day 0..23 (UTC) for each epoch-ms timestamp."""
    ts = _as_i64(ts_ms)
    return np.asarray((ts % MS_PER_DAY) // MS_PER_HOUR, dtype=np.int64)


@numba.njit(cache=True, inline="always")
def weekday_of_day(day: int) -> int:
    """ISO-like weekday 0=Monday .. 6=Sunday of UTC epoch day `day` (day 0, 1970-01-01, a Thursday);
    compiled, for the features kernel too."""
    return (day + 3) % 7


@numba.njit(cache=True)
def _weekdays(days: IntArray) -> IntArray:
    out = np.empty_like(days)
    for i in range(days.shape[0]):
        out[i] = weekday_of_day(days[i])
    return out


def day_of_week(ts_ms: object) -> IntArray:
    """ISO-like weekday 0=Monday .. 6=Sunday (UTC) of each timestamp (`weekday_of_day` of its day)."""
    ts = _as_i64(ts_ms)
    return np.asarray(_weekdays(np.ascontiguousarray(ts.reshape(-1) // MS_PER_DAY)).reshape(ts.shape), dtype=np.int64)


def session_masks(ts_ms: object, hours: SessionHours = DEFAULT_SESSION_HOURS) -> dict[Session, BoolArray]:
    """Boolean mask per session: True where the bar's UTC hour is within that session's hours.

    Sessions may overlap (London+New York); a bar can be in several sessions or in none.
    """
    h = utc_hour(ts_ms)
    out: dict[Session, BoolArray] = {}
    for s in Session:
        start, end = hours.of(s)
        if start < end:
            out[s] = (h >= start) & (h < end)
        else:
            out[s] = (h >= start) | (h < end)
    return out


def overlap_mask(masks: dict[Session, BoolArray], a: Session, b: Session) -> BoolArray:
    """Where sessions a and b are both open (e.g. the London+New York overlap)."""
    return masks[a] & masks[b]


def primary_session(ts_ms: int, hours: SessionHours = DEFAULT_SESSION_HOURS) -> Session | None:
    """The latest-opened session active at ts_ms (New York over London over Tokyo), or None."""
    masks = session_masks(np.array([ts_ms]), hours)
    for s in (Session.NEW_YORK, Session.LONDON, Session.TOKYO):
        if bool(masks[s][0]):
            return s
    return None


def session_end_hours(hours: SessionHours = DEFAULT_SESSION_HOURS) -> IntArray:
    """Per UTC hour 0..23, the closing hour of the latest-opened session active then
    (`primary_session`), -1 where none is: what `session_end_at` reads."""
    out = np.full(24, -1, dtype=np.int64)
    for h in range(24):
        s = primary_session(h * MS_PER_HOUR, hours)
        if s is not None:
            out[h] = hours.of(s)[1]
    return out


_DEFAULT_END_HOURS: Final = session_end_hours()


@numba.njit(cache=True)
def session_end_at(at_ms: int, end_hours: IntArray) -> int:
    """`session_end_ms` on the table of `session_end_hours` (compiled: the backtest kernel's too)."""
    day = at_ms - at_ms % (24 * MS_PER_HOUR)
    end = int(end_hours[(at_ms % (24 * MS_PER_HOUR)) // MS_PER_HOUR])
    if end < 0:
        return at_ms + MS_PER_HOUR
    end_ms = day + end * MS_PER_HOUR
    return end_ms if end_ms > at_ms else end_ms + 24 * MS_PER_HOUR


def session_end_ms(at_ms: int, hours: SessionHours = DEFAULT_SESSION_HOURS) -> int:
    """End of the trading session active at at_ms (the latest-opened one), or one hour later if none:
    how long the loss backoff lasts. The live outcome tracker and the batch backtest engine both use it."""
    table = _DEFAULT_END_HOURS if hours == DEFAULT_SESSION_HOURS else session_end_hours(hours)
    return int(session_end_at(int(at_ms), table))


class VolRegime(enum.Enum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """True range per bar; the first bar uses high-low (its own close as the previous one)."""
    return _true_ranges(_as_f64(high), _as_f64(low), _as_f64(close))


@numba.njit(cache=True)
def _true_ranges(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    out = np.empty(close.shape[0])
    for i in range(close.shape[0]):
        out[i] = true_range_at(high[i], low[i], close[i - 1] if i > 0 else close[0])
    return out


@numba.njit(cache=True, inline="always")
def true_range_at(high: float, low: float, prev_close: float) -> float:
    """max(high - low, |high - prev close|, |low - prev close|), NaN if any of them is NaN (as
    numpy.maximum): `true_range`'s and the feature pass's (domain.features) one formula."""
    tr = high - low
    b = abs(high - prev_close)
    if not (tr >= b or np.isnan(tr)):
        tr = b
    b = abs(low - prev_close)
    if not (tr >= b or np.isnan(tr)):
        tr = b
    return tr


def session_hour_table(hours: SessionHours = DEFAULT_SESSION_HOURS) -> FloatArray:
    """1.0 / 0.0 per session (in `Session` order) and UTC hour 0..23: `session_masks` of each hour."""
    masks = session_masks(np.arange(24, dtype=np.int64) * MS_PER_HOUR, hours)
    return np.array([masks[s] for s in Session], dtype=np.float64)


def atr(high: FloatArray, low: FloatArray, close: FloatArray, window: int = 14) -> FloatArray:
    """Simple moving average of the true range; NaN for the first window-1 bars."""
    tr = true_range(high, low, close)
    out = np.full(tr.shape, np.nan)
    if tr.shape[0] >= window:
        c = np.cumsum(np.concatenate(([0.0], tr)))
        out[window - 1 :] = (c[window:] - c[:-window]) / window
    return out


def volatility_regime(
    atr_values: FloatArray, low_pct: float = 33.3, high_pct: float = 66.7
) -> tuple[VolRegime, float, float]:
    """Regime of the last ATR value against percentiles of the history (NaNs ignored).

    Returns (regime, low_cut, high_cut). An empty/NaN history is MEDIUM.
    """
    valid = atr_values[~np.isnan(atr_values)]
    if valid.shape[0] == 0 or np.isnan(atr_values[-1]):
        return VolRegime.MEDIUM, float("nan"), float("nan")
    lo, hi = np.percentile(valid, [low_pct, high_pct])
    last = float(atr_values[-1])
    if last < lo:
        return VolRegime.LOW, float(lo), float(hi)
    if last > hi:
        return VolRegime.HIGH, float(lo), float(hi)
    return VolRegime.MEDIUM, float(lo), float(hi)
