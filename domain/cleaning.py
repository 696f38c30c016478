"""Candle cleaning and validation: ordering, duplicates, gaps, OHLC sanity, zero volume, spikes.

Every problem is counted AND located (kind, bar open time, what was seen, what was done) in the
`QualityReport`; conflicting duplicates and OHLC violations follow a configured `ConflictPolicy`
(refuse, keep the first copy, drop the bar), never a silent choice.

Missing bars are REPORTED, never filled: a price that was not traded is not invented. Instead
`valid_window_mask` marks every rolling window that would span a gap as invalid, and the
feature code turns those windows into NaN.
"""

from __future__ import annotations

import datetime as dt
import enum

import attrs
import numpy as np

from domain.errors import DataError
from domain.market import BoolArray, Candles, FloatArray, IntArray, Timeframe


def gap_flags(ts: IntArray, timeframe: Timeframe) -> BoolArray:
    """True at bar i when bars are missing between bar i-1 and bar i (False at bar 0)."""
    t = np.asarray(ts, dtype=np.int64)
    out = np.zeros(t.shape[0], dtype=np.bool_)
    if t.shape[0] > 1:
        out[1:] = np.diff(t) != timeframe.ms
    return out


class WindowValidity:
    """`valid_window_mask` for many window lengths over one series, sharing one pass over the gaps."""

    def __init__(self, ts: IntArray, timeframe: Timeframe) -> None:
        t = np.asarray(ts, dtype=np.int64)
        self._n = int(t.shape[0])
        flags = gap_flags(t, timeframe)
        self._any_gap = bool(flags.any())
        self._g = np.concatenate((np.zeros(1, dtype=np.int64), np.cumsum(flags, dtype=np.int64)))
        self._memo: dict[int, BoolArray] = {}

    def mask(self, window: int) -> BoolArray:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        hit = self._memo.get(window)
        if hit is not None:
            return hit
        n = self._n
        out = np.zeros(n, dtype=np.bool_)
        if n >= window:
            if window == 1 or not self._any_gap:
                out[window - 1 :] = True
            else:
                # The window ending at t is clean when no difference ts[k]-ts[k-1], k in (t-w+1, t], is a gap.
                g = self._g
                out[window - 1 :] = (g[window:] - g[1 : n - window + 2]) == 0
        self._memo[window] = out
        return out


def valid_window_mask(ts: IntArray, timeframe: Timeframe, window: int) -> BoolArray:
    """True at bar t when bars t-window+1 .. t exist and are consecutive (no gap inside).

    The first window-1 bars are False (warm-up). A window of 1 is always valid.
    """
    return WindowValidity(ts, timeframe).mask(window)


@attrs.frozen
class Gap:
    """Bars missing between two present bars: `after_ms` is the last bar before the hole."""

    after_ms: int
    before_ms: int
    missing_bars: int

    @property
    def first_missing_ms(self) -> int:
        period = (self.before_ms - self.after_ms) // (self.missing_bars + 1)
        return self.after_ms + period


def find_gaps(ts: IntArray, timeframe: Timeframe) -> list[Gap]:
    """Every hole in a sorted timestamp series (a handful per file, so a list is fine)."""
    t = np.asarray(ts, dtype=np.int64)
    if t.shape[0] < 2:
        return []
    d = np.diff(t)
    where = np.flatnonzero(d > timeframe.ms)
    return [Gap(int(t[i]), int(t[i + 1]), int(d[i] // timeframe.ms) - 1) for i in where]


def sort_dedupe_order(ts: IntArray) -> tuple[IntArray, int]:
    """Indices that sort `ts` ascending and keep the LAST row of each duplicated timestamp.

    The last row wins because a later fetch of the same bar is the more complete one (a bar
    fetched while still forming is superseded). Returns (indices, number of dropped duplicates).
    """
    t = np.asarray(ts, dtype=np.int64)
    if t.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), 0
    order = np.argsort(t, kind="stable")
    st = t[order]
    keep = np.ones(st.shape[0], dtype=np.bool_)
    keep[:-1] = st[1:] != st[:-1]
    return np.asarray(order[keep], dtype=np.int64), int(st.shape[0] - int(keep.sum()))


class ConflictPolicy(enum.Enum):
    """What cleaning does with a conflicting duplicate bar or a bar whose OHLC is inconsistent.

    - REFUSE: stop with an error naming every such bar (nothing is written);
    - KEEP_FIRST: keep the first copy of a conflicting bar (file order) and keep an inconsistent bar
      as it is, each located in the report;
    - DROP_BAR: drop every copy of a conflicting bar and every inconsistent bar; they become gaps,
      reported as such (never filled).
    """

    REFUSE = "refuse"
    KEEP_FIRST = "keep-first"
    DROP_BAR = "drop-bar"

    @classmethod
    def parse(cls, text: str) -> ConflictPolicy:
        for p in cls:
            if p.value == str(text).strip().lower():
                return p
        raise ValueError(f"unknown conflict policy {text!r}; valid: {', '.join(p.value for p in cls)}")


# Kinds of findings, in report order.
DUPLICATE = "duplicate"  # the same bar twice with identical values: collapsed to one
CONFLICTING_DUPLICATE = "conflicting_duplicate"  # the same open time with different values
OUT_OF_ORDER = "out_of_order"  # a row earlier than a row before it in the file
OHLC_VIOLATION = "ohlc_violation"  # high below open/close/low, or low above open/close
INVALID_ROW = "invalid_row"  # a non-finite or non-positive price, a negative volume: dropped
ZERO_VOLUME = "zero_volume"
SPIKE = "spike"
GAP = "gap"
KINDS = (DUPLICATE, CONFLICTING_DUPLICATE, OUT_OF_ORDER, OHLC_VIOLATION, INVALID_ROW, ZERO_VOLUME, SPIKE, GAP)


@attrs.frozen
class Finding:
    """One located problem: its kind, the bar's open time (ms UTC) and what was seen and done."""

    kind: str
    ts: int
    detail: str


class DataQualityRefused(DataError):
    """Cleaning found conflicting duplicates or OHLC violations and the policy is `refuse`."""


@attrs.frozen
class QualityReport:
    """What cleaning found in one symbol/timeframe series: counts, and each finding located.

    `findings` lists up to `CleaningParams.max_listed` of each kind (counts are always complete).
    """

    symbol: str
    timeframe: str
    rows_in: int
    rows_out: int
    first_ms: int | None
    last_ms: int | None
    was_unsorted: bool
    duplicates: int  # rows beyond the first of their open time (identical or not)
    dropped_invalid: int
    ohlc_violations: int
    zero_volume: int
    spikes: int
    spike_ts: tuple[int, ...]
    gaps: tuple[Gap, ...]
    conflicting_duplicates: int = 0  # open times whose copies differ
    out_of_order: int = 0
    dropped_bars: int = 0  # bars removed by the policy (conflicts, OHLC violations under drop-bar)
    policy: str = ConflictPolicy.KEEP_FIRST.value
    findings: tuple[Finding, ...] = ()

    @property
    def missing_bars(self) -> int:
        return sum(g.missing_bars for g in self.gaps)

    @property
    def expected_rows(self) -> int:
        return self.rows_out + self.missing_bars

    def located(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def to_dict(self) -> dict[str, object]:
        return {
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "policy": self.policy,
            "rows_in": self.rows_in,
            "rows_out": self.rows_out,
            "first_ms": self.first_ms,
            "last_ms": self.last_ms,
            "was_unsorted": self.was_unsorted,
            "duplicates": self.duplicates,
            "conflicting_duplicates": self.conflicting_duplicates,
            "out_of_order": self.out_of_order,
            "dropped_invalid": self.dropped_invalid,
            "dropped_bars": self.dropped_bars,
            "ohlc_violations": self.ohlc_violations,
            "zero_volume": self.zero_volume,
            "spikes": self.spikes,
            "spike_ts": list(self.spike_ts),
            "missing_bars": self.missing_bars,
            "gaps": [
                {"after_ms": g.after_ms, "before_ms": g.before_ms, "missing_bars": g.missing_bars} for g in self.gaps
            ],
            "findings": [
                {"kind": f.kind, "ts": f.ts, "utc": utc_text(f.ts), "detail": f.detail} for f in self.findings
            ],
        }


@attrs.frozen
class CleaningParams:
    """Spike: a close-to-close log return beyond `spike_mads` robust deviations (MAD x 1.4826)."""

    spike_mads: float = 25.0
    max_spikes_listed: int = 20
    max_listed: int = 200  # findings listed per kind (the counts stay complete)
    policy: ConflictPolicy = ConflictPolicy.REFUSE


def utc_text(ms: int) -> str:
    """`2021-04-25 05:00 UTC` (calendar arithmetic of a fixed instant; no clock is read)."""
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def spike_mask(close: FloatArray, mads: float) -> BoolArray:
    """Bars whose log return from the previous close is an outlier against the series' MAD."""
    c = np.asarray(close, dtype=np.float64)
    out = np.zeros(c.shape[0], dtype=np.bool_)
    if c.shape[0] < 3:
        return out
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.diff(np.log(c))
    finite = np.isfinite(r)
    if not finite.any():
        return out
    med = float(np.median(r[finite]))
    mad = float(np.median(np.abs(r[finite] - med))) * 1.4826
    if mad <= 0:
        return out
    out[1:] = finite & (np.abs(r - med) > mads * mad)
    return out


_FIELDS = ("open", "high", "low", "close", "volume")


def _num(x: float) -> str:
    return f"{x:.10g}"


def _conflict_text(vals: FloatArray, rows: IntArray) -> str:
    """`close 100 vs 101; volume 5 vs 7`: every field whose copies differ, copies in file order."""
    parts = []
    for j, name in enumerate(_FIELDS):
        col = vals[j, rows]
        if not np.all((col == col[0]) | (np.isnan(col) & np.isnan(col[0]))):
            parts.append(f"{name} " + " vs ".join(_num(float(x)) for x in col))
    return f"{rows.shape[0]} copies: " + "; ".join(parts)


def _ohlc_text(o: float, h: float, lo: float, c: float) -> str:
    why = []
    if h < lo:
        why.append(f"high {_num(h)} < low {_num(lo)}")
    if h < max(o, c):
        why.append(f"high {_num(h)} < max(open {_num(o)}, close {_num(c)})")
    if lo > min(o, c):
        why.append(f"low {_num(lo)} > min(open {_num(o)}, close {_num(c)})")
    return "; ".join(why)


class _Findings:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.items: list[Finding] = []

    def add(self, kind: str, ts: IntArray, detail: object) -> None:
        """`detail` is one text for all, or a callable (position -> text) evaluated on listed rows only."""
        for k, t in enumerate(np.asarray(ts, dtype=np.int64)[: self.cap]):
            text = detail(k) if callable(detail) else str(detail)
            self.items.append(Finding(kind, int(t), text))


def clean_candles(
    symbol: str,
    timeframe: Timeframe,
    ts: object,
    open_: object,
    high: object,
    low: object,
    close: object,
    volume: object,
    params: CleaningParams = CleaningParams(),
) -> tuple[Candles, QualityReport]:
    """Sort, resolve duplicates and inconsistent bars by `params.policy`, drop unusable rows; report all.

    Always, whatever the policy: rows are sorted (out-of-order rows located), identical copies of a
    bar collapse to one (located), rows with a non-finite or non-positive price or a negative volume
    are dropped (located; they become gaps). Kept and located: zero-volume bars, price spikes (a
    real crash is a spike too), gaps (never filled). By the policy: conflicting duplicates (both
    values in the finding) and OHLC violations are refused, kept (first copy) or dropped.
    """
    t_in = np.asarray(ts, dtype=np.int64)
    raw = np.vstack([np.asarray(a, dtype=np.float64) for a in (open_, high, low, close, volume)])
    rows_in = int(t_in.shape[0])
    found = _Findings(params.max_listed)
    policy = params.policy

    # out of order: earlier than some row before it in the file
    late = np.zeros(rows_in, dtype=np.bool_)
    if rows_in > 1:
        late[1:] = t_in[1:] < np.maximum.accumulate(t_in)[:-1]
    found.add(OUT_OF_ORDER, t_in[late], lambda k: "row out of order in the file (sorted)")

    # duplicates: group equal open times (stable sort keeps file order inside a group)
    order = np.argsort(t_in, kind="stable")
    st = t_in[order]
    vals = raw[:, order]
    first = np.ones(rows_in, dtype=np.bool_)
    if rows_in > 1:
        first[1:] = st[1:] != st[:-1]
    gid = np.cumsum(first) - 1
    head = np.flatnonzero(first)
    same = (vals == vals[:, head[gid]]) | (np.isnan(vals) & np.isnan(vals[:, head[gid]]))
    differs = ~same.all(axis=0)
    n_groups = int(head.shape[0])
    conflict = np.zeros(n_groups, dtype=np.bool_)
    conflict[gid[differs]] = True
    size = np.bincount(gid, minlength=n_groups) if rows_in else np.zeros(0, dtype=np.int64)
    dup_rows = int(rows_in - n_groups)
    exact = (size > 1) & ~conflict
    found.add(DUPLICATE, st[head[exact]], lambda k: f"{int(size[exact][k])} identical copies (one kept)")
    conflict_heads = head[conflict]
    c_ts = st[conflict_heads]
    action = {
        ConflictPolicy.REFUSE: "refused",
        ConflictPolicy.KEEP_FIRST: "kept the first",
        ConflictPolicy.DROP_BAR: "bar dropped",
    }[policy]
    c_groups = np.flatnonzero(conflict)
    found.add(
        CONFLICTING_DUPLICATE, c_ts, lambda k: f"{_conflict_text(vals, np.flatnonzero(gid == c_groups[k]))} ({action})"
    )

    keep = first.copy()  # the first copy of every open time
    if policy is ConflictPolicy.DROP_BAR:
        keep &= ~conflict[gid]
    t = st[keep]
    o, h, lo, c, v = (vals[j, keep] for j in range(5))

    prices = np.vstack((o, h, lo, c))
    usable = np.isfinite(prices).all(axis=0) & (prices > 0).all(axis=0) & np.isfinite(v) & (v >= 0)
    dropped = int((~usable).sum())
    bad_rows = np.flatnonzero(~usable)
    found.add(
        INVALID_ROW,
        t[bad_rows],
        lambda k: (
            "unusable values "
            + ", ".join(
                f"{n} {_num(float(x))}"
                for n, x in zip(
                    _FIELDS,
                    (o[bad_rows[k]], h[bad_rows[k]], lo[bad_rows[k]], c[bad_rows[k]], v[bad_rows[k]]),
                    strict=True,
                )
            )
            + " (dropped)"
        ),
    )
    t = t[usable]
    o, h, lo, c, v = (a[usable] for a in (o, h, lo, c, v))

    ohlc_bad = (h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (h < lo)
    bad_idx = np.flatnonzero(ohlc_bad)
    ohlc_action = {
        ConflictPolicy.REFUSE: "refused",
        ConflictPolicy.KEEP_FIRST: "kept",
        ConflictPolicy.DROP_BAR: "bar dropped",
    }[policy]
    found.add(
        OHLC_VIOLATION,
        t[bad_idx],
        lambda k: (
            _ohlc_text(float(o[bad_idx[k]]), float(h[bad_idx[k]]), float(lo[bad_idx[k]]), float(c[bad_idx[k]]))
            + f" ({ohlc_action})"
        ),
    )
    n_conflicts = int(conflict.sum())
    n_ohlc = int(ohlc_bad.sum())
    if policy is ConflictPolicy.REFUSE and (n_conflicts or n_ohlc):
        listed = [f for f in found.items if f.kind in (CONFLICTING_DUPLICATE, OHLC_VIOLATION)][:5]
        where = "; ".join(f"{f.kind} at {utc_text(f.ts)}: {f.detail.removesuffix(' (refused)')}" for f in listed)
        raise DataQualityRefused(
            f"{symbol} {timeframe}: {n_conflicts} conflicting duplicate bar(s) and {n_ohlc} OHLC violation(s) "
            f"({where}); refused by data.conflict_policy=refuse: set it (env DATA_CONFLICT_POLICY) to "
            "keep-first or drop-bar to import anyway, each bar reported"
        )
    dropped_bars = n_conflicts if policy is ConflictPolicy.DROP_BAR else 0
    if policy is ConflictPolicy.DROP_BAR and n_ohlc:
        t = t[~ohlc_bad]
        o, h, lo, c, v = (a[~ohlc_bad] for a in (o, h, lo, c, v))
        dropped_bars += n_ohlc

    zero = np.flatnonzero(v == 0)
    found.add(ZERO_VOLUME, t[zero], "zero volume (kept)")
    spikes = spike_mask(c, params.spike_mads)
    sp = np.flatnonzero(spikes)
    found.add(SPIKE, t[sp], lambda k: f"close {_num(float(c[sp[k]]))} after {_num(float(c[sp[k] - 1]))} (kept)")
    gaps = tuple(find_gaps(t, timeframe))
    found.add(
        GAP,
        np.array([g.first_missing_ms for g in gaps], dtype=np.int64),
        lambda k: f"{gaps[k].missing_bars} bar(s) missing until {utc_text(gaps[k].before_ms)} (not filled)",
    )
    found.items.sort(key=lambda f: (KINDS.index(f.kind), f.ts))

    candles = Candles(symbol, timeframe, t, o, h, lo, c, v)
    report = QualityReport(
        symbol=symbol,
        timeframe=timeframe.value,
        rows_in=rows_in,
        rows_out=len(candles),
        first_ms=None if len(candles) == 0 else int(t[0]),
        last_ms=candles.last_ts,
        was_unsorted=bool(late.any()),
        duplicates=dup_rows,
        dropped_invalid=dropped,
        ohlc_violations=n_ohlc,
        zero_volume=int(zero.shape[0]),
        spikes=int(sp.shape[0]),
        spike_ts=tuple(int(x) for x in t[sp][: params.max_spikes_listed]),
        gaps=gaps,
        conflicting_duplicates=n_conflicts,
        out_of_order=int(late.sum()),
        dropped_bars=dropped_bars,
        policy=policy.value,
        findings=tuple(found.items),
    )
    return candles, report


def quality_report(candles: Candles, params: CleaningParams = CleaningParams()) -> QualityReport:
    """The report for candles that are already sorted and unique (e.g. loaded from the store): the
    policy is not applied again (a bar kept under keep-first is reported, not refused)."""
    return clean_candles(
        candles.symbol,
        candles.timeframe,
        candles.ts,
        candles.open,
        candles.high,
        candles.low,
        candles.close,
        candles.volume,
        attrs.evolve(params, policy=ConflictPolicy.KEEP_FIRST),
    )[1]
