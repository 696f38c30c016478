"""Execution costs: measured spread and slippage distributions per pair and session.

One model serves the backtest's simulated broker (`sample_many`), the paper broker and the
runtime's pre-trade estimate (`sample`, `expected_round_trip_cost_bps`). Both sampling forms
consume the injected `numpy.random.Generator` identically: one call of `sample` draws two
uniforms (spread, slippage) with `rng.random((1, 2))`, and `sample_many` over n orders draws
`rng.random((n, 2))`, which numpy fills from the same stream in the same order. So a backtest and
a runtime fed the same seed and the same orders draw the same costs.

Units: basis points of price. `spread_bps` is the full quoted bid-ask spread; a market order
crosses half of it, so one side of a trade costs spread/2 + slippage (+ latency penalty).

Latency SLA: when the decision-to-order latency exceeds `latency_sla_ms`, the fill is degraded by
the profile's p90 slippage (added on top of the sampled slippage). At or below the SLA: nothing.

Distributions are stored as 101 empirical quantiles (percentiles 0..100) and sampled by inverse
transform with linear interpolation, clipped to the bracketing grid values (float rounding could
otherwise overshoot by an ulp), so a draw never leaves [min, max] of what was measured.

Two round-trip figures, for two uses: `expected_round_trip_cost_bps` (the mean; reporting,
expectancy, training labels) and `worst_round_trip_cost_bps` (the top quantiles: a bound no sampled
fill can exceed; the FTMO guard charges it, docs/ftmo-rules.md).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Protocol

import attrs
import numba
import numpy as np
import numpy.typing as npt

from domain.errors import UserError
from domain.market import (
    DEFAULT_SESSION_HOURS,
    MS_PER_HOUR,
    Session,
    SessionHours,
    session_masks,
    utc_hour,
    validate_symbol,
)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SCHEMA_VERSION: Final = 1
N_QUANTILES: Final = 101  # percentiles 0, 1, ..., 100
QUANTILE_LEVELS: Final = np.linspace(0.0, 1.0, N_QUANTILES)
DEFAULT_LATENCY_SLA_MS: Final = 500.0

SOURCE_OHLC: Final = "ohlc-estimate"
SOURCE_BROKER: Final = "broker"
SOURCE_FIXED: Final = "fixed"


class UnknownCostCell(UserError):
    """No execution profile for this pair and session."""


class InvalidCostModel(UserError):
    """A cost model or distribution is inconsistent (negative spread, unsorted quantiles, ...)."""


def _quantile_tuple(value: object) -> tuple[float, ...]:
    return tuple(float(v) for v in np.asarray(value, dtype=np.float64).ravel())


@attrs.frozen
class Distribution:
    """An empirical distribution of a non-negative cost in bps.

    `quantiles[i]` is the value at probability i/100. `count` is how many samples it came from.
    """

    mean: float
    quantiles: tuple[float, ...] = attrs.field(converter=_quantile_tuple)
    count: int

    def __attrs_post_init__(self) -> None:
        q = np.asarray(self.quantiles)
        if q.shape[0] != N_QUANTILES:
            raise InvalidCostModel(f"distribution needs {N_QUANTILES} quantiles, got {q.shape[0]}")
        if not bool(np.all(np.isfinite(q))) or not math.isfinite(self.mean):
            raise InvalidCostModel("distribution values must be finite")
        if float(q[0]) < 0 or self.mean < 0:
            raise InvalidCostModel(f"costs must be >= 0 bps, got min {q[0]:.6g}, mean {self.mean:.6g}")
        if not bool(np.all(np.diff(q) >= 0)):
            raise InvalidCostModel("distribution quantiles must be non-decreasing")
        if self.count < 1:
            raise InvalidCostModel(f"distribution needs at least one sample, count={self.count}")

    @classmethod
    def from_samples(cls, samples: object) -> Distribution:
        """Summarise samples (bps); NaN is dropped. Raises if nothing finite is left or any is < 0."""
        x = np.asarray(samples, dtype=np.float64).ravel()
        x = x[np.isfinite(x)]
        if x.shape[0] == 0:
            raise InvalidCostModel("no finite samples to build a distribution from")
        q = np.quantile(x, QUANTILE_LEVELS)
        return cls(mean=float(np.mean(x)), quantiles=q, count=int(x.shape[0]))

    @classmethod
    def constant(cls, value: float) -> Distribution:
        return cls(mean=float(value), quantiles=np.full(N_QUANTILES, float(value)), count=1)

    @property
    def p50(self) -> float:
        return self.quantiles[50]

    @property
    def p90(self) -> float:
        return self.quantiles[90]

    def quantile_array(self) -> FloatArray:
        return np.asarray(self.quantiles, dtype=np.float64)


@attrs.frozen
class ExecutionProfile:
    """Spread and slippage of one pair in one session, with where they were measured.

    `spread_components` keeps the mean (bps) of each estimator that went into `spread` (for an
    OHLC estimate: Corwin-Schultz and Abdi-Ranaldo), for reporting only.
    """

    pair: str = attrs.field(converter=validate_symbol)
    session: Session
    spread: Distribution
    slippage: Distribution
    source: str
    spread_components: Mapping[str, float] = attrs.field(factory=dict)


@attrs.frozen
class QuoteSample:
    """A recorded bid/ask snapshot of one pair."""

    pair: str = attrs.field(converter=validate_symbol)
    at_ms: int
    bid: float
    ask: float

    def __attrs_post_init__(self) -> None:
        if not (self.bid > 0 and self.ask >= self.bid):
            raise InvalidCostModel(f"quote {self.pair} at {self.at_ms}: need 0 < bid <= ask, got {self.bid}/{self.ask}")

    @property
    def spread_bps(self) -> float:
        return (self.ask - self.bid) / ((self.ask + self.bid) / 2) * 1e4


@attrs.frozen
class CostDraw:
    """Costs for one order, in bps of price."""

    spread_bps: float
    slippage_bps: float
    latency_penalty_bps: float

    @property
    def one_way_bps(self) -> float:
        """What crossing the market once costs: half the spread, slippage and the penalty."""
        return self.spread_bps / 2 + self.slippage_bps + self.latency_penalty_bps


@attrs.frozen(eq=False)
class CostDraws:
    """Costs for n orders (arrays of equal length), the batch form of `CostDraw`."""

    spread_bps: FloatArray
    slippage_bps: FloatArray
    latency_penalty_bps: FloatArray

    def __len__(self) -> int:
        return int(self.spread_bps.shape[0])

    @property
    def one_way_bps(self) -> FloatArray:
        return np.asarray(self.spread_bps / 2 + self.slippage_bps + self.latency_penalty_bps)

    def draw(self, i: int) -> CostDraw:
        return CostDraw(float(self.spread_bps[i]), float(self.slippage_bps[i]), float(self.latency_penalty_bps[i]))


class CostModel(Protocol):
    """What the simulated broker, the paper broker and the runtime use."""

    @property
    def kind(self) -> str: ...

    @property
    def description(self) -> str: ...

    def sample(self, pair: str, session: Session, rng: np.random.Generator, latency_ms: float = 0.0) -> CostDraw: ...

    def sample_many(
        self,
        pairs: Sequence[str],
        sessions: Sequence[Session],
        rng: np.random.Generator,
        latency_ms: object = 0.0,
    ) -> CostDraws: ...

    def expected_round_trip_cost_bps(self, pair: str, session: Session, latency_ms: float = 0.0) -> float: ...

    def worst_round_trip_cost_bps(
        self, pair: str, session: Session, latency_ms: float = 0.0, fee_bps: float = 0.0
    ) -> float: ...

    def draw_tables(self, pairs: Sequence[str], latency_ms: float = 0.0) -> DrawTables: ...


@attrs.frozen(eq=False)
class DrawTables:
    """What `sample` reads, per (pair, session) cell as arrays, for compiled code that draws like it:
    row `pair_index * len(SESSION_ORDER) + session_index` holds the spread and slippage quantiles
    (`_interp_one` reads them at the two uniforms of `rng.random((1, 2))`), the latency penalty, and
    whether the model knows the cell (`sample` raises UnknownCostCell where it does not)."""

    spread_q: FloatArray
    slip_q: FloatArray
    penalty: FloatArray
    known: npt.NDArray[np.bool_]


def bounded_round_trip_bps(spread_max: float, slippage_max: float, penalty: float, fee_bps: float) -> float:
    """A round trip no fill can exceed: the whole top spread, the top slippage and the penalty on both
    sides, and the commission of both sides charged on fills already worsened by that round trip
    (a commission is a fraction of the fill price, and a worse fill is a dearer one)."""
    market = spread_max + 2 * (slippage_max + penalty)
    return market + 2 * fee_bps * (1.0 + market / 1e4)


def _interp_uniform(table: FloatArray, rows: IntArray, u: FloatArray) -> FloatArray:
    """Inverse-CDF lookup: row r's quantiles at probability u, linear between grid points."""
    pos = u * (N_QUANTILES - 1)
    lo = np.minimum(pos.astype(np.int64), N_QUANTILES - 2)
    frac = pos - lo
    a = table[rows, lo]
    b = table[rows, lo + 1]
    # a + frac x (b - a) with frac < 1 may round one ulp above b; the clip keeps every draw <= the top quantile
    return np.asarray(np.minimum(a + frac * (b - a), b), dtype=np.float64)


@numba.njit(cache=True)
def _interp_one(q: FloatArray, u: float) -> float:
    """`_interp_uniform` for one draw (compiled; the backtest kernel draws here too): the same IEEE
    operations in the same order."""
    pos = u * (N_QUANTILES - 1)
    lo = min(int(pos), N_QUANTILES - 2)
    a = float(q[lo])
    b = float(q[lo + 1])
    v = a + (pos - lo) * (b - a)
    return v if v < b else b


def _latency_one(latency_ms: float) -> float:
    lat = float(latency_ms)
    if not (math.isfinite(lat) and lat >= 0):
        raise ValueError("latency_ms must be finite and >= 0")
    return lat


def _latency_array(latency_ms: object, n: int) -> FloatArray:
    lat = np.broadcast_to(np.asarray(latency_ms, dtype=np.float64), (n,))
    if not bool(np.all(np.isfinite(lat))) or bool(np.any(lat < 0)):
        raise ValueError("latency_ms must be finite and >= 0")
    return np.asarray(lat, dtype=np.float64)


def _profile_tuple(value: Iterable[ExecutionProfile]) -> tuple[ExecutionProfile, ...]:
    return tuple(value)


@attrs.frozen(eq=False)
class ExecutionModel:
    """Measured execution profiles for every pair x session, versioned and dated."""

    profiles: tuple[ExecutionProfile, ...] = attrs.field(converter=_profile_tuple)
    source: str
    as_of: dt.date
    schema_version: int = SCHEMA_VERSION
    latency_sla_ms: float = DEFAULT_LATENCY_SLA_MS
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    _index: dict[tuple[str, Session], int] = attrs.field(init=False, repr=False)
    _spread_q: FloatArray = attrs.field(init=False, repr=False)
    _slip_q: FloatArray = attrs.field(init=False, repr=False)
    _slip_p90: FloatArray = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.schema_version != SCHEMA_VERSION:
            raise InvalidCostModel(f"unsupported schema_version {self.schema_version}; supported: {SCHEMA_VERSION}")
        if not self.latency_sla_ms > 0:
            raise InvalidCostModel(f"latency_sla_ms must be > 0, got {self.latency_sla_ms}")
        if not self.profiles:
            raise InvalidCostModel("an execution model needs at least one profile")
        index: dict[tuple[str, Session], int] = {}
        for i, p in enumerate(self.profiles):
            key = (p.pair, p.session)
            if key in index:
                raise InvalidCostModel(f"duplicate profile for {p.pair} {p.session.value}")
            index[key] = i
        pairs = {p.pair for p in self.profiles}
        missing = [f"{pair} {s.value}" for pair in sorted(pairs) for s in Session if (pair, s) not in index]
        if missing:
            raise InvalidCostModel(f"missing profiles: {', '.join(missing)}")
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_spread_q", np.stack([p.spread.quantile_array() for p in self.profiles]))
        object.__setattr__(self, "_slip_q", np.stack([p.slippage.quantile_array() for p in self.profiles]))
        object.__setattr__(self, "_slip_p90", np.array([p.slippage.p90 for p in self.profiles]))

    @property
    def kind(self) -> str:
        return "empirical"

    @property
    def description(self) -> str:
        return f"empirical execution model ({self.source}, as of {self.as_of.isoformat()})"

    @property
    def pairs(self) -> tuple[str, ...]:
        return tuple(sorted({p.pair for p in self.profiles}))

    def profile(self, pair: str, session: Session) -> ExecutionProfile:
        return self.profiles[self._row(pair, session)]

    def _row(self, pair: str, session: Session) -> int:
        try:
            return self._index[(validate_symbol(pair), session)]
        except KeyError:
            raise UnknownCostCell(
                f"no execution profile for {pair} in session {session.value}; the model covers {', '.join(self.pairs)}"
            ) from None

    def _row_or_none(self, pair: str, session: Session) -> int:
        try:
            return self._row(pair, session)
        except UserError:  # UnknownCostCell or InvalidSymbol: `sample` raises it at the first draw
            return -1

    def with_latency_sla(self, latency_sla_ms: float) -> ExecutionModel:
        return attrs.evolve(self, latency_sla_ms=latency_sla_ms)

    def _draw(self, rows: IntArray, u: FloatArray, latency: FloatArray) -> CostDraws:
        spread = _interp_uniform(self._spread_q, rows, u[:, 0])
        slip = _interp_uniform(self._slip_q, rows, u[:, 1])
        penalty = np.where(latency > self.latency_sla_ms, self._slip_p90[rows], 0.0)
        return CostDraws(spread, slip, np.asarray(penalty, dtype=np.float64))

    def sample(self, pair: str, session: Session, rng: np.random.Generator, latency_ms: float = 0.0) -> CostDraw:
        """One order's costs; draws exactly `rng.random((1, 2))`. The arithmetic of `sample_many` on
        Python floats (no one-element arrays): the same values, bit for bit."""
        row = self._row(pair, session)
        u = rng.random((1, 2))
        lat = _latency_one(latency_ms)
        return CostDraw(
            float(_interp_one(self._spread_q[row], float(u[0, 0]))),
            float(_interp_one(self._slip_q[row], float(u[0, 1]))),
            float(self._slip_p90[row]) if lat > self.latency_sla_ms else 0.0,
        )

    def sample_many(
        self,
        pairs: Sequence[str],
        sessions: Sequence[Session],
        rng: np.random.Generator,
        latency_ms: object = 0.0,
    ) -> CostDraws:
        """n orders' costs; draws `rng.random((n, 2))`, the same stream as n calls of `sample`."""
        if len(pairs) != len(sessions):
            raise ValueError(f"pairs ({len(pairs)}) and sessions ({len(sessions)}) differ in length")
        n = len(pairs)
        # Look-ups per distinct (pair, session) cell, not per order.
        keys = list(zip(pairs, sessions, strict=True))
        cells = {k: self._row(*k) for k in set(keys)}
        rows = np.fromiter((cells[k] for k in keys), dtype=np.int64, count=n)
        lat = _latency_array(latency_ms, n)
        return self._draw(rows, rng.random((n, 2)), lat)

    def draw_tables(self, pairs: Sequence[str], latency_ms: float = 0.0) -> DrawTables:
        lat = _latency_one(latency_ms)
        rows = np.array([self._row_or_none(p, x) for p in pairs for x in Session], dtype=np.int64)
        safe = np.maximum(rows, 0)
        return DrawTables(
            np.ascontiguousarray(self._spread_q[safe]),
            np.ascontiguousarray(self._slip_q[safe]),
            np.where(lat > self.latency_sla_ms, self._slip_p90[safe], 0.0),
            rows >= 0,
        )

    def latency_penalty_bps(self, pair: str, session: Session, latency_ms: float) -> float:
        return self.profile(pair, session).slippage.p90 if latency_ms > self.latency_sla_ms else 0.0

    def expected_round_trip_cost_bps(self, pair: str, session: Session, latency_ms: float = 0.0) -> float:
        """Mean cost of entering and leaving: one full spread, two slippages, two penalties."""
        p = self.profile(pair, session)
        penalty = self.latency_penalty_bps(pair, session, latency_ms)
        return p.spread.mean + 2 * (p.slippage.mean + penalty)

    def worst_round_trip_cost_bps(
        self, pair: str, session: Session, latency_ms: float = 0.0, fee_bps: float = 0.0
    ) -> float:
        """The most entering and leaving can cost (commission `fee_bps` per side included): no draw of
        `sample`/`sample_many` exceeds the top quantiles (see `bounded_round_trip_bps`)."""
        p = self.profile(pair, session)
        penalty = self.latency_penalty_bps(pair, session, latency_ms)
        return bounded_round_trip_bps(p.spread.quantiles[-1], p.slippage.quantiles[-1], penalty, fee_bps)


@attrs.frozen
class FixedCostModel:
    """User-supplied constant costs (`--cost-model fixed`); reports must say so (`kind == "fixed"`).

    Same interface as `ExecutionModel`; draws the same uniforms from the rng (so switching models
    does not shift any other random stream) but ignores them. Above the SLA the penalty is the
    fixed slippage (its own p90).
    """

    spread_bps: float
    slippage_bps: float
    latency_sla_ms: float = DEFAULT_LATENCY_SLA_MS

    def __attrs_post_init__(self) -> None:
        for name in ("spread_bps", "slippage_bps"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise InvalidCostModel(f"--{name.replace('_', '-')} must be a number >= 0, got {v}")
        if not self.latency_sla_ms > 0:
            raise InvalidCostModel(f"latency_sla_ms must be > 0, got {self.latency_sla_ms}")

    @property
    def kind(self) -> str:
        return SOURCE_FIXED

    @property
    def description(self) -> str:
        return (
            f"FIXED cost model supplied by the user: spread {self.spread_bps:g} bps, "
            f"slippage {self.slippage_bps:g} bps (not measured)"
        )

    def _draws(self, n: int, rng: np.random.Generator, latency_ms: object) -> CostDraws:
        rng.random((n, 2))
        lat = _latency_array(latency_ms, n)
        return CostDraws(
            np.full(n, self.spread_bps),
            np.full(n, self.slippage_bps),
            np.where(lat > self.latency_sla_ms, self.slippage_bps, 0.0),
        )

    def sample(self, pair: str, session: Session, rng: np.random.Generator, latency_ms: float = 0.0) -> CostDraw:
        rng.random((1, 2))
        lat = _latency_one(latency_ms)
        slip = float(self.slippage_bps)
        return CostDraw(float(self.spread_bps), slip, slip if lat > self.latency_sla_ms else 0.0)

    def sample_many(
        self,
        pairs: Sequence[str],
        sessions: Sequence[Session],
        rng: np.random.Generator,
        latency_ms: object = 0.0,
    ) -> CostDraws:
        if len(pairs) != len(sessions):
            raise ValueError(f"pairs ({len(pairs)}) and sessions ({len(sessions)}) differ in length")
        return self._draws(len(pairs), rng, latency_ms)

    def expected_round_trip_cost_bps(self, pair: str, session: Session, latency_ms: float = 0.0) -> float:
        penalty = self.slippage_bps if latency_ms > self.latency_sla_ms else 0.0
        return self.spread_bps + 2 * (self.slippage_bps + penalty)

    def draw_tables(self, pairs: Sequence[str], latency_ms: float = 0.0) -> DrawTables:
        """Constant quantiles: `_interp_one` gives back the fixed costs exactly."""
        lat = _latency_one(latency_ms)
        n = len(pairs) * len(Session)
        return DrawTables(
            np.full((n, N_QUANTILES), float(self.spread_bps)),
            np.full((n, N_QUANTILES), float(self.slippage_bps)),
            np.full(n, float(self.slippage_bps) if lat > self.latency_sla_ms else 0.0),
            np.ones(n, dtype=np.bool_),
        )

    def worst_round_trip_cost_bps(
        self, pair: str, session: Session, latency_ms: float = 0.0, fee_bps: float = 0.0
    ) -> float:
        """Fixed costs are their own bound (commission `fee_bps` per side on the worsened fills)."""
        penalty = self.slippage_bps if latency_ms > self.latency_sla_ms else 0.0
        return bounded_round_trip_bps(self.spread_bps, self.slippage_bps, penalty, fee_bps)


# Order in which an active session is chosen when sessions overlap: the one opened last.
_SESSION_PRIORITY: Final = (Session.NEW_YORK, Session.LONDON, Session.TOKYO)
SESSION_ORDER: Final = tuple(Session)


def cost_session_codes(ts_ms: object, hours: SessionHours = DEFAULT_SESSION_HOURS) -> IntArray:
    """Index into `SESSION_ORDER` of the session whose costs apply at each timestamp.

    Overlaps resolve to the most recently opened session (New York over London over Tokyo), as
    `domain.market.primary_session` does. Hours in no session (21-24 UTC by default) use the New
    York profile: they are the late US afternoon, and the paper broker treats them the same way.
    """
    masks = session_masks(np.arange(24, dtype=np.int64) * MS_PER_HOUR, hours)  # the rule by UTC hour
    code = np.full(24, SESSION_ORDER.index(Session.NEW_YORK), dtype=np.int64)
    for s in reversed(_SESSION_PRIORITY):
        code = np.where(masks[s], SESSION_ORDER.index(s), code)
    return np.asarray(code[utc_hour(ts_ms)], dtype=np.int64)


def cost_sessions(ts_ms: object, hours: SessionHours = DEFAULT_SESSION_HOURS) -> list[Session]:
    """`cost_session_codes` as Session members (one per timestamp; for order lists, not bars)."""
    return [SESSION_ORDER[i] for i in cost_session_codes(ts_ms, hours).tolist()]


def cost_session(ts_ms: int, hours: SessionHours = DEFAULT_SESSION_HOURS) -> Session:
    """The cost session of one instant (what the paper broker and the runtime use)."""
    return cost_sessions([ts_ms], hours)[0]
