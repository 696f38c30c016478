"""The batch backtest engine.

Stage 1 (vectorised, per pair, whole-series arrays): the live stop ATR and volatility regime
(domain.volatility), confidence from the precomputed up-probabilities, raw tiers, tiers with
hysteresis and stop/target levels. Exits (domain.backtest.lifecycle) are resolved in blocks of
candidates, only where a trade opens.
Stage 2 (sequential, over candidates only): settle trades that ended, roll the FTMO day, then the
live desk's own decision (domain.decision.decide_trade: policy, FTMO check and halt, position limits,
sizing, FTMO guard) on the engine's book; emitted orders draw their costs from the execution model
in order, exactly as the simulated broker does. Bars without a candidate are never visited in
Python; open positions are touched only when a candidate needs their mark-to-market or when they
close. The live cycle's FTMO check on every bar close (the watch) reads each pair's mark from a table
of every close and sums the equity in two small numba kernels (`_grid_equity`, `_first_below`;
`NUMBA_DISABLE_JIT=1` runs the same code as Python, with the same results).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import cast

import attrs
import numba
import numpy as np
import numpy.typing as npt

from domain import ftmo, policy
from domain.backtest.lifecycle import ExitReason, Exits, closed_trade, exit_cost_bps_of, resolve_exits
from domain.backtest.windowed import window_starts
from domain.confidence import ConfidenceParams, regime_booster_batch, score_batch
from domain.decision import Book, decide_trade, latch_on_breach
from domain.errors import ConfigError
from domain.execution_costs import CostModel, UnknownCostCell, cost_session_codes
from domain.guard import DEFAULT_COST_ALLOWANCE, exit_cost_bps, round_trip_cost_bps
from domain.market import Candles, Session, session_end_ms
from domain.prague_time import next_day_start_ms
from domain.sentiment import SENTIMENT_MEMBER, against_sentiment_batch
from domain.settings import DEFAULT_LOOKBACK_BARS, KernelSettings, PositionLimits, live_lookback
from domain.signals import BlockReason, Direction, Tier, TierThresholds
from domain.tiering import hysteresis_batch, raw_tiers_batch
from domain.trading import Position, SymbolSpec
from domain.volatility import MEDIUM, regime_codes, stop_atr

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_INT_MIN = int(np.iinfo(np.int64).min)
_INT_MAX = int(np.iinfo(np.int64).max)

# Per-bar outcome codes of stage 1 (0 = a candidate that goes on to stage 2).
CANDIDATE = 0
PRE_BLOCKS: tuple[BlockReason, ...] = (
    BlockReason.NO_PREDICTION,
    BlockReason.TIER_NONE,
    BlockReason.HYSTERESIS,
    BlockReason.NO_DATA,
)
BLOCK_CODES: dict[BlockReason, int] = {r: i + 1 for i, r in enumerate(BlockReason)}
REASON_OF_CODE: dict[int, BlockReason] = {v: k for k, v in BLOCK_CODES.items()}


@attrs.frozen
class EngineConfig:
    thresholds: TierThresholds = attrs.field(factory=TierThresholds)
    hysteresis_scans: int = 2
    confidence: ConfidenceParams = attrs.field(factory=ConfidenceParams)
    policy: policy.PolicyConfig = attrs.field(factory=policy.PolicyConfig)
    rules: ftmo.FtmoRules = attrs.field(factory=ftmo.FtmoRules)
    risk_pct: float = 0.5
    lookback_bars: int = DEFAULT_LOOKBACK_BARS  # the live scan's window (ATR for stops and the regime booster)
    atr_window: int = 14
    regime_window: int = 240  # as services.scan_cycle.ScanSettings
    sl_atr_mult: float = 1.5
    reward_risk: float = 2.0
    fallback_sl_pct: float = 1.0  # stop distance when the window's ATR is undefined
    horizon_bars: int = 3
    fee_bps: float = 0.0  # commission per side, bps of notional
    latency_ms: float = 0.0  # decision-to-order latency; above the cost model's SLA the fill is degraded
    kill_switch: bool = False
    # MAX_OPEN_POSITIONS, MAX_POSITIONS_PER_PAIR (the product's come from the config; none by default here)
    limits: PositionLimits = attrs.field(factory=PositionLimits.unlimited)
    sentiment_bound: float = 0.0  # a candidate against |sentiment| >= this is blocked (0 = off; sentiment plugin)
    # FLATTEN_ON_FLOOR: a bar close whose equity is below a buffered floor closes every open position there
    flatten_on_floor: bool = False

    @classmethod
    def from_settings(cls, s: KernelSettings, model_names: Sequence[str], min_bars: int = 0) -> EngineConfig:
        """The engine's view of the kernel settings (composition.settings builds them from the config)
        for an ensemble of `model_names`. The look-back is the live scan's window for models that need
        `min_bars` closed bars (domain.settings.live_lookback)."""
        return cls(
            thresholds=s.thresholds,
            hysteresis_scans=s.hysteresis_scans,
            confidence=s.confidence_for(model_names),
            policy=s.policy,
            rules=s.rules,
            risk_pct=s.risk_pct,
            horizon_bars=s.horizon_bars,
            fee_bps=s.fee_bps,
            latency_ms=s.latency_ms,
            kill_switch=s.kill_switch,
            lookback_bars=live_lookback(min_bars),
            limits=s.limits,
            flatten_on_floor=s.flatten_on_floor,
        )

    def __attrs_post_init__(self) -> None:
        if self.atr_window < 1 or self.regime_window < 1 or self.atr_window + self.regime_window > self.lookback_bars:
            raise ConfigError(
                f"backtest: atr_window ({self.atr_window}) + regime_window ({self.regime_window}) must be "
                f"positive and fit in lookback_bars ({self.lookback_bars}), as in the live scan"
            )


@attrs.frozen(eq=False)
class PairData:
    """One pair's bars and per-bar model probabilities (NaN = no prediction), plus optional finer bars."""

    pair: str
    bars: Candles
    probs: Mapping[str, FloatArray]
    spec: SymbolSpec
    fine: Candles | None = None


@attrs.frozen(eq=False)
class Stage1:
    """Vectorised per-pair results. `outcome[i]` is CANDIDATE or a pre-block code for bar i."""

    pair: str
    prob_up: FloatArray
    direction: IntArray
    confidence: FloatArray
    raw_tier: IntArray
    tier: IntArray
    outcome: npt.NDArray[np.int8]
    cand: IntArray  # candidate bar indices
    entry_ref: FloatArray
    sl: FloatArray
    tp: FloatArray
    sign: IntArray  # candidate direction (+1 long, -1 short)


def stage1(pd: PairData, cfg: EngineConfig) -> Stage1:
    """Every bar as the live scan at its close would see it, in array form."""
    b = pd.bars
    n = len(b)
    now = b.ts + b.timeframe.ms
    params = cfg.confidence
    # What the live scan sees on its look-back window: the stop ATR and the regime depend on a fixed
    # number of trailing bars (domain.volatility), so one pass over the series gives every bar's live
    # value; `span` (bars in the window before this one) says whether the window held them all.
    a = stop_atr(b.high, b.low, b.close, cfg.atr_window)
    span = np.arange(n, dtype=np.int64) - window_starts(b, np.arange(n, dtype=np.int64), cfg.lookback_bars)
    table = regime_booster_batch(np.arange(3, dtype=np.int64), params.boosters)
    if float(table.max()) != float(table.min()):
        # every bar's regime in one pass; MEDIUM where the live window could not hold its W ATRs
        codes = np.where(span >= cfg.atr_window + cfg.regime_window - 1, regime_codes(a, cfg.regime_window), MEDIUM)
    else:  # the regime cannot change any confidence
        codes = np.full(n, MEDIUM, dtype=np.int64)
    cb = score_batch(pd.probs, params, ts_ms=now, regime_codes=codes)
    raw = raw_tiers_batch(cb.confidence, cfg.thresholds)
    eff = hysteresis_batch(cb.direction_sign, raw, cfg.hysteresis_scans)
    has_next = np.arange(n) + 1 < n
    outcome = np.full(n, CANDIDATE, dtype=np.int8)
    outcome[~has_next] = BLOCK_CODES[BlockReason.NO_DATA]  # no next bar to enter on
    outcome[(eff == 0) & (raw > 0)] = BLOCK_CODES[BlockReason.HYSTERESIS]
    outcome[raw == 0] = BLOCK_CODES[BlockReason.TIER_NONE]  # "quiet": the live scan records no block
    outcome[cb.direction_sign == 0] = BLOCK_CODES[BlockReason.NO_PREDICTION]
    mood = pd.probs.get(SENTIMENT_MEMBER)  # the sentiment plugin's member (NaN = no score): the live filter
    if mood is not None and cfg.sentiment_bound > 0:
        against = against_sentiment_batch(cb.direction_sign, mood, cfg.sentiment_bound)
        outcome[(outcome == CANDIDATE) & against] = BLOCK_CODES[BlockReason.SENTIMENT]
    cand = np.flatnonzero(outcome == CANDIDATE).astype(np.int64)
    sign = cb.direction_sign[cand]
    entry_ref = b.close[cand]  # the simulated broker quotes the last close (costs come at the fill)
    last_atr = np.where(span[cand] >= cfg.atr_window, a[cand], np.nan)
    dist = last_atr * cfg.sl_atr_mult
    with np.errstate(invalid="ignore"):
        dist = np.where(dist > 0, dist, entry_ref * cfg.fallback_sl_pct / 100.0)
    sl = entry_ref - sign * dist
    tp = entry_ref + sign * dist * cfg.reward_risk
    return Stage1(
        pd.pair,
        cb.prob_up,
        cb.direction_sign,
        cb.confidence,
        raw,
        eff,
        outcome,
        cand,
        entry_ref,
        sl,
        tp,
        sign.astype(np.int64),
    )


@attrs.frozen(eq=False)
class EngineResult:
    pairs: tuple[str, ...]
    stage1: tuple[Stage1, ...]
    signals: dict[str, npt.NDArray[np.generic]]  # column arrays, one row per emitted signal
    blocks: dict[str, npt.NDArray[np.generic]]  # stage-2 blocks (policy, sizing, guard)
    trades: dict[str, npt.NDArray[np.generic]]  # one row per emitted signal, its fill and exit
    final_balance: float
    # Distinct crossings of our buffered floor (daily or total): an episode starts when the desk's
    # check finds equity below the floor after a check that did not (or when the run ends below it)
    # and lasts until a check finds equity back above it, however many days it stays halted.
    breach_episodes: int
    ftmo_breach_episodes: int  # the same for FTMO's own floors
    breach_halt_days: int  # halts latched by a breach: one per day an episode keeps the desk halted


@attrs.frozen
class _Open:
    exit_at: int
    seq: int
    rank: int
    position: Position
    pnl: float


# Bulk classification is only worth its numpy overhead over enough events.
BULK_MIN = 24
BULK_MAX = 8192
EXIT_BLOCK = 256  # candidates whose exits are resolved together, on the first trade among them
PY_BLOCK = 256  # events (candidates) whose fields the scalar path converts to Python numbers together
_UNSURE = -1
# blocks decided after the desk's FTMO refresh (the live desk rolled its day for them)
_REFRESHED = np.array(
    [
        BLOCK_CODES[r]
        for r in (
            BlockReason.BELOW_MIN_LOT,
            BlockReason.INSUFFICIENT_MARGIN,
            BlockReason.DAILY_LOSS,
            BlockReason.MAX_LOSS,
            BlockReason.MAX_OPEN_POSITIONS,
            BlockReason.MAX_POSITIONS_PER_PAIR,
        )
    ]
)


class _Kernel:
    """Stage 2. The scalar path decides every event that can change the state (an emitted order, a
    latched halt) through domain.decision.decide_trade, the live desk's decision. Runs of events that
    the current state certainly blocks are classified in bulk with the same arithmetic; anything
    within a rounding margin of a boundary is left to the scalar path, so the bulk path can only ever
    agree with it (tests prove it)."""

    def __init__(
        self,
        pairs: Sequence[PairData],
        s1: Sequence[Stage1],
        cfg: EngineConfig,
        costs: CostModel,
        rng: np.random.Generator,
        start_balance: float,
    ) -> None:
        self.pairs, self.s1, self.cfg, self.costs, self.rng = pairs, s1, cfg, costs, rng
        self.specs: dict[str, SymbolSpec] = {p.pair: p.spec for p in pairs}
        t_all = np.concatenate(
            [np.zeros(0, np.int64)] + [p.bars.ts[s.cand] + p.bars.timeframe.ms for p, s in zip(pairs, s1, strict=True)]
        )
        rank_all = np.concatenate(
            [np.zeros(0, np.int64)] + [np.full(s.cand.shape[0], r, dtype=np.int64) for r, s in enumerate(s1)]
        )
        local_all = np.concatenate([np.zeros(0, np.int64)] + [np.arange(s.cand.shape[0], dtype=np.int64) for s in s1])
        order = np.lexsort((rank_all, t_all))
        self.order = order
        self.t = t_all[order]
        self.rank = rank_all[order]
        self.local = local_all[order]
        self.ends = [p.bars.ts + p.bars.timeframe.ms for p in pairs]
        # The live cycle's clock: every bar close that has a next bar (where the runtime runs a cycle).
        self.grid = np.unique(np.concatenate([np.zeros(0, np.int64)] + [e[:-1] for e in self.ends]))
        self.watched = _INT_MIN  # bar closes up to here have had their FTMO check
        self.watched_i = 0  # grid closes at or before `watched`
        # Per pair, its mark at every grid close: the last close at or before it (gvalid False before
        # the pair's first bar closes, where the entry price is the mark), looked up instead of searched.
        gk = [e.searchsorted(self.grid, side="right") - 1 for e in self.ends]
        g_n = self.grid.shape[0]
        self.gvalid = np.array([x >= 0 for x in gk], dtype=np.bool_).reshape(len(pairs), g_n)
        self.gmark = np.array(
            [p.bars.close[np.maximum(x, 0)] for p, x in zip(pairs, gk, strict=True)], dtype=np.float64
        ).reshape(len(pairs), g_n)
        # What only depends on the open positions, kept until they change (`changed`).
        self._pos: tuple[FloatArray, FloatArray, FloatArray, FloatArray] | None = None  # as arrays (first_breach)
        self._pos_rank: IntArray = np.zeros(0, np.int64)
        self._next: _Open | None = None  # the next to end (exit time, then opening order)
        self._held: tuple[tuple[Position, ...], float] | None = None  # positions, margin they hold
        self._exit_bps: dict[int, dict[str, float]] = {}  # per cost session
        self._session_end: dict[int, int] = {}
        # Per candidate: the cost session of its fill (what the sampled draw uses).
        self.sess: list[IntArray] = []
        for p, s in zip(pairs, s1, strict=True):
            self.sess.append(cost_session_codes(p.bars.ts[s.cand + 1]) if s.cand.shape[0] else np.zeros(0, np.int64))
        # The guard's cost allowance, as the live desk computes it at decision time: per pair and
        # cost session, the WORST round trip with commission on both sides (bps of notional), a bound
        # the costs sampled at the fill never exceed (the mean would be exceeded half the time).
        self.rt_table = np.array(
            [[_cost(round_trip_cost_bps, costs, p.pair, x, cfg) for x in _SESSIONS] for p in pairs]
        )
        self.exit_table = np.array([[_cost(exit_cost_bps, costs, p.pair, x, cfg) for x in _SESSIONS] for p in pairs])
        self.now_sess = cost_session_codes(self.t) if self.t.shape[0] else np.zeros(0, np.int64)
        self._event_arrays()
        # What the scalar path reads of each event and candidate, as Python numbers, converted once per
        # block of them it touches (not per read, and not for the events the bulk path takes).
        self.ev_py: dict[int, list[tuple[int, int, int, int]]] = {}
        self.cand_py: dict[tuple[int, int], list[tuple[int, Tier, int, float, float, float]]] = {}
        self.balance = float(start_balance)
        self.fstate: ftmo.FtmoState | None = None  # started and rolled at refresh, as the live desk does
        self.pstate = policy.set_kill_switch(policy.PolicyState(), cfg.kill_switch)
        self.opened: list[_Open] = []
        self.seq = 0
        self.breach_episodes = 0
        self.ftmo_breach_episodes = 0
        self.breach_halt_days = 0
        self.in_breach = False  # the last FTMO check found equity below our floor
        self.in_ftmo_breach = False  # ... below FTMO's own floor
        self.last_exit = 0
        self.sig_rows: list[tuple[object, ...]] = []
        self.blk_rows: list[tuple[object, ...]] = []
        self.blk_bulk: list[tuple[IntArray, IntArray]] = []  # (event positions, reason codes)
        self.trade_rows: list[tuple[object, ...]] = []
        self.exits: dict[tuple[int, int], Exits] = {}  # (pair, block of candidates) -> their exits

    # ------------------------------------------------------------------ state upkeep
    def mark(self, rank: int, now: int) -> float | None:
        """Close of the last bar of that pair that closed at or before `now`."""
        k = int(self.ends[rank].searchsorted(now, side="right")) - 1
        return float(self.pairs[rank].bars.close[k]) if k >= 0 else None

    def settle(self, now: int) -> None:
        """Close every trade that ended at or before `now`, in exit order; losses feed the backoff."""
        cfg = self.cfg
        while self.opened:
            o = self.next_open()
            if o.exit_at > now:
                break
            self.opened.remove(o)
            self.changed()
            # the ledger sees the close at its time: rolled at any midnight before it with the balance
            # then (exact), the P&L booked into the close's Prague day
            if self.fstate is not None:
                self.fstate = self.fstate.advance(o.exit_at, self.balance)
            self.balance += o.pnl
            if self.fstate is not None:
                self.fstate = self.fstate.advance(o.exit_at, self.balance)
            self.last_exit = max(self.last_exit, o.exit_at)
            if o.pnl < 0:
                self.pstate = policy.record_loss(cfg.policy, self.pstate, o.exit_at, self.session_end(o.exit_at))

    def changed(self) -> None:
        """The open positions changed: forget what was derived from them."""
        self._pos = None
        self._next = None
        self._held = None
        self._exit_bps = {}

    def next_open(self) -> _Open:
        """The open position that ends first (ties: the one opened first); there must be one."""
        if self._next is None:
            self._next = min(self.opened, key=lambda x: (x.exit_at, x.seq))
        return self._next

    def next_exit(self) -> int:
        return self.next_open().exit_at if self.opened else _INT_MAX

    def held(self) -> tuple[tuple[Position, ...], float]:
        """The open positions in opening order and the margin they hold, summed in the simulated
        broker's order (opening order)."""
        if self._held is None:
            specs = self.specs
            used = sum(specs[o.position.pair].margin_for(o.position.volume, o.position.entry) for o in self.opened)
            self._held = (tuple(o.position for o in self.opened), used)
        return self._held

    def exit_bps(self, sc: int) -> dict[str, float]:
        """Per open pair, its exit-cost allowance in cost session `sc` (the last of a pair's wins)."""
        e = self._exit_bps.get(sc)
        if e is None:
            e = self._exit_bps[sc] = {o.position.pair: float(self.exit_table[o.rank, sc]) for o in self.opened}
        return e

    def session_end(self, at: int) -> int:
        """domain.market.session_end_ms, once per instant."""
        e = self._session_end.get(at)
        if e is None:
            e = self._session_end[at] = session_end_ms(at)
        return e

    def positions(self) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """The open positions in opening order as arrays: pair rank, sign, entry, volume, contract size."""
        if self._pos is None:
            ps = [o.position for o in self.opened]
            self._pos_rank = np.array([o.rank for o in self.opened], dtype=np.int64)
            self._pos = (
                np.array([p.direction.sign for p in ps], dtype=np.float64),
                np.array([p.entry for p in ps], dtype=np.float64),
                np.array([p.volume for p in ps], dtype=np.float64),
                np.array([self.specs[p.pair].contract_size for p in ps], dtype=np.float64),
            )
        return (self._pos_rank, *self._pos)

    def marks_equity(self, now: int) -> tuple[dict[str, float], float]:
        """Marks (the last close at or before `now`, the entry before any) and equity at `now`, summed in
        opening order as the simulated broker's account() sums them."""
        marks: dict[str, float] = {}
        floating = 0.0
        for o in self.opened:
            m = marks.get(o.position.pair)
            if m is None:
                m = self.mark(o.rank, now)
                marks[o.position.pair] = o.position.entry if m is None else m
            floating += o.position.pnl_at(marks[o.position.pair], self.specs[o.position.pair].contract_size)
        return marks, self.balance + floating

    # ------------------------------------------------------------------ the live cycle's check on every bar
    def advance(self, now: int) -> None:
        """Bring the account to `now` as the live cycles up to it leave it: every bar close checked
        (watch), every trade that ended by `now` settled."""
        self.watch(now)
        self.settle(now)

    def watch(self, upto: int) -> None:
        """The FTMO check the live cycle runs at every bar close, candidate or not, over the closes in
        (watched, upto]: trades that ended by then settle first; equity at the marks below a buffered
        floor latches the halt until the next Prague day (again each day it lasts) and, with
        flatten_on_floor, closes every open position at that close."""
        if upto <= self.watched:
            return
        g = self.grid
        i = self.watched_i
        i_end = int(g.searchsorted(upto, side="right"))
        while i < i_end:
            nxt = self.next_exit()
            j = min(i_end, int(g.searchsorted(nxt, side="left")))  # closes before the next exit
            if j > i:
                b = self.first_breach(i, j)
                if b >= 0:
                    self.breach_at(int(g[b]))
                    i = b + 1
                    continue
                i = j
            if i < i_end:  # a trade ended at or before this close: settle it, then check this close
                self.settle(int(g[i]))
        self.watched = upto
        self.watched_i = i_end

    def first_breach(self, i: int, j: int) -> int:
        """The first grid index in [i, j) (no trade ends before it) whose check changes the state:
        equity below the binding buffered floor while not halted, or with positions to flatten; -1 if
        none. With no open position the floors of the days after the next one repeat (the balance is
        constant), so at most two Prague days are looked at."""
        g = self.grid
        n = j - i
        equity = _grid_equity(self.balance, self.gmark, self.gvalid, i, j, *self.positions()) if self.opened else None
        flatten = self.cfg.flatten_on_floor and bool(self.opened)
        d0, days = 0, 0
        while d0 < n and (self.opened or days < 2):
            t0 = int(g[i + d0])
            d1 = min(n, int(g.searchsorted(next_day_start_ms(t0), side="left")) - i)
            floor = ftmo.check(self.cfg.rules, self.refreshed(t0), self.balance).floor
            if equity is None:  # equity is the balance at every close
                c = 0 if self.balance < floor else -1
            else:
                c = _first_below(equity, d0, d1, floor)
            if c >= 0 and (flatten or not self.pstate.is_halted(int(g[i + d0 + c]))):
                return i + d0 + c
            # else: halted until the next day start, nothing changes before it
            d0, days = d1, days + 1
        return -1

    def breach_at(self, tau: int) -> None:
        """The live refresh at a bar close whose equity is below a buffered floor."""
        cfg = self.cfg
        marks, equity = self.marks_equity(tau)
        self.fstate = self.refreshed(tau)
        chk = ftmo.check(cfg.rules, self.fstate, equity)
        self.note_check(chk.breached, chk.ftmo_breached)
        latched = latch_on_breach(self.pstate, chk, tau)
        if latched is not self.pstate:
            self.breach_halt_days += 1
            self.pstate = latched
        if chk.breached and cfg.flatten_on_floor and self.opened:
            self.flatten(tau, marks)

    def flatten(self, tau: int, marks: Mapping[str, float]) -> None:
        """Close every open position at its mark, in opening order, as a market close: half the spread
        and the slippage drawn at its entry, and the commission (the simulated broker's close)."""
        cfg = self.cfg
        for o in self.opened:
            p = o.position
            sign = p.direction.sign
            cs = self.specs[p.pair].contract_size
            row = list(self.trade_rows[o.seq])
            px = marks[p.pair]
            spread, slip, i0, ref = (
                cast(float, row[18]),
                cast(float, row[19]),
                cast(int, row[2]) + 1,
                cast(float, row[7]),
            )
            cost = exit_cost_bps_of(spread, slip, ExitReason.FLATTEN)
            exit_fill, pnl = closed_trade(sign, p.entry, px, cost, p.volume, cs, cfg.fee_bps)
            if self.fstate is not None:
                self.fstate = self.fstate.advance(tau, self.balance)
            self.balance += pnl
            if self.fstate is not None:
                self.fstate = self.fstate.advance(tau, self.balance)
            if pnl < 0:
                self.pstate = policy.record_loss(cfg.policy, self.pstate, tau, self.session_end(tau))
            bars = self.pairs[o.rank].bars
            kb = int(np.searchsorted(self.ends[o.rank], tau, side="right")) - 1
            worst = float(bars.low[i0 : kb + 1].min() if sign > 0 else bars.high[i0 : kb + 1].max())
            worst_pnl = sign * (worst - p.entry) * p.volume * cs - cfg.fee_bps / 1e4 * p.entry * p.volume * cs
            risk_money = abs(ref - p.sl) * p.volume * cs
            row[11], row[12], row[13], row[14] = tau, kb, exit_fill, int(ExitReason.FLATTEN)
            row[15], row[16], row[22] = pnl, pnl / risk_money if risk_money > 0 else 0.0, min(worst_pnl, pnl)
            self.trade_rows[o.seq] = tuple(row)
        self.opened = []
        self.changed()
        self.last_exit = max(self.last_exit, tau)

    def refreshed(self, now: int) -> ftmo.FtmoState:
        """The FTMO state as the live desk's refresh would leave it at `now` (start or roll)."""
        if self.fstate is None:
            return ftmo.FtmoState.start(now, self.balance)
        return self.fstate.advance(now, self.balance)

    def note_check(self, breached: bool, ftmo_breached: bool) -> None:
        """Count a breach episode where a check finds equity below a floor after one that did not."""
        self.breach_episodes += int(breached and not self.in_breach)
        self.ftmo_breach_episodes += int(ftmo_breached and not self.in_ftmo_breach)
        self.in_breach, self.in_ftmo_breach = breached, ftmo_breached

    def finish(self) -> None:
        """Check every bar close to the last, settle every trade; a run that ends below a floor ends in
        a breach episode too."""
        if self.grid.shape[0]:
            self.watch(int(self.grid[-1]))
        self.settle(_INT_MAX)
        if self.fstate is not None:
            end = max(self.last_exit, int(self.t[-1]) if self.t.shape[0] else 0)
            chk = ftmo.check(self.cfg.rules, self.fstate.roll(end, self.balance), self.balance)
            self.note_check(chk.breached, chk.ftmo_breached)

    def _event_arrays(self) -> None:
        """What the bulk path needs of each event that no state changes: its candidate's tier, levels,
        symbol spec and cost allowance, gathered once in event order (classify only slices them)."""
        m = self.t.shape[0]
        tier = np.concatenate([np.zeros(0, np.int64)] + [s.tier[s.cand] for s in self.s1])[self.order]
        entry = np.concatenate([np.zeros(0)] + [s.entry_ref for s in self.s1])[self.order]
        sl = np.concatenate([np.zeros(0)] + [s.sl for s in self.s1])[self.order]
        specs = [p.spec for p in self.pairs]
        rank = self.rank
        cost = self.rt_table[rank, self.now_sess] if m else np.zeros(0)  # the new order's round trip (bps)
        cs_a = np.array([sp.contract_size for sp in specs], dtype=np.float64)[rank]
        rate = np.array([sp.margin_rate for sp in specs], dtype=np.float64)[rank]
        self.ev_tier = tier
        self.ev_min_lot = np.array([sp.min_lot for sp in specs], dtype=np.float64)[rank]
        self.ev_step = np.array([sp.lot_step for sp in specs], dtype=np.float64)[rank]
        self.ev_max_lot = np.array([sp.max_lot for sp in specs], dtype=np.float64)[rank]
        self.ev_per_lot = np.abs(entry - sl) * cs_a
        self.ev_margin_lot = rate * (np.abs(entry) * (1.0 + np.maximum(cost, 0.0) / 1e4)) * cs_a
        # stop loss + costs per lot
        self.ev_per_lot_all = self.ev_per_lot + cost / 1e4 * np.maximum(np.abs(entry), np.abs(sl)) * cs_a

    def next_change(self, now: int, until: int = _INT_MAX) -> int:
        """The first instant after `now` at which the state changes by itself (no event needed), but
        for the FTMO day roll: with the balance constant between two such instants, every day after
        the first rolls to the same floors, which the bulk path applies per event. `until`: the caller
        only needs to know whether that instant comes after `until`, so when a change comes at or
        before it, any such change may be returned (the next exit is looked at first, the watch last)."""
        nx = self.next_exit()
        if nx <= until:
            return nx
        ps = self.pstate
        cands = [nx]
        cands += [e[0] + self.cfg.policy.window_ms for e in ps.emitted if e[0] + self.cfg.policy.window_ms > now]
        for u in (ps.halted_until_ms, ps.backoff_until_ms):
            if u is not None and u > now:
                cands.append(u)
        horizon = min(cands)
        if horizon <= until:
            return horizon
        # a bar close before then whose FTMO check latches a halt or flattens (the watch)
        i = int(self.grid.searchsorted(now, side="right"))
        j = int(self.grid.searchsorted(horizon, side="left"))
        b = self.first_breach(i, j) if j > i else -1
        return int(self.grid[b]) if b >= 0 else horizon

    def exit_of(self, r: int, j: int) -> tuple[Exits, int]:
        """Exits of pair r's candidate j (and its block), resolved only when a trade opens there."""
        blk = j // EXIT_BLOCK
        ex = self.exits.get((r, blk))
        if ex is None:
            s = self.s1[r]
            sel = slice(blk * EXIT_BLOCK, (blk + 1) * EXIT_BLOCK)
            ex = resolve_exits(
                self.pairs[r].bars,
                s.cand[sel] + 1,
                s.sign[sel],
                s.sl[sel],
                s.tp[sel],
                self.cfg.horizon_bars,
                self.pairs[r].fine,
            )
            self.exits[(r, blk)] = ex
        return ex, j - blk * EXIT_BLOCK

    # ------------------------------------------------------------------ the scalar path (the real rules)
    def event(self, k: int) -> tuple[int, int, int, int]:
        """Event k's pair rank, candidate, time and cost session."""
        b, q = divmod(k, PY_BLOCK)
        rows = self.ev_py.get(b)
        if rows is None:
            sel = slice(b * PY_BLOCK, (b + 1) * PY_BLOCK)
            rows = self.ev_py[b] = list(
                zip(
                    self.rank[sel].tolist(),
                    self.local[sel].tolist(),
                    self.t[sel].tolist(),
                    self.now_sess[sel].tolist(),
                    strict=True,
                )
            )
        return rows[q]

    def candidate(self, r: int, j: int) -> tuple[int, Tier, int, float, float, float]:
        """Pair r's candidate j: its bar, tier, direction, entry reference, stop and target."""
        b, q = divmod(j, PY_BLOCK)
        rows = self.cand_py.get((r, b))
        if rows is None:
            s = self.s1[r]
            sel = slice(b * PY_BLOCK, (b + 1) * PY_BLOCK)
            bar = s.cand[sel]
            rows = self.cand_py[(r, b)] = list(
                zip(
                    bar.tolist(),
                    [_TIER_OF[x] for x in s.tier[bar].tolist()],
                    s.direction[bar].tolist(),
                    s.entry_ref[sel].tolist(),
                    s.sl[sel].tolist(),
                    s.tp[sel].tolist(),
                    strict=True,
                )
            )
        return rows[q]

    def scalar(self, k: int) -> None:
        cfg = self.cfg
        r, j, now, sc = self.event(k)
        s = self.s1[r]
        pd = self.pairs[r]
        pair = pd.pair
        specs = self.specs
        marks, equity = self.marks_equity(now)
        i, tier, sign, entry, sl, tp = self.candidate(r, j)
        ledger = self.refreshed(now)  # the live desk's FTMO refresh, stored only if the decision reads it
        held, used = self.held()
        book = Book(
            ftmo=ftmo.check(cfg.rules, ledger, equity),
            positions=held,
            spec=specs[pair],
            equity=equity,
            free_margin=equity - used,
            balance=self.balance,
            cost_bps=float(self.rt_table[r, sc]),
            specs=specs,
            marks=marks,
            exit_bps=self.exit_bps(sc),
        )
        d = decide_trade(
            cfg.policy,
            self.pstate,
            tier,
            now,
            book,
            pair=pair,
            entry=entry,
            sl=sl,
            risk_pct=cfg.risk_pct,
            limits=cfg.limits,
        )
        if d.ftmo is not None:
            self.fstate = ledger
            self.note_check(d.ftmo.breached, d.ftmo.ftmo_breached)
        self.breach_halt_days += int(d.latched)  # one per day a breach episode keeps the desk halted
        self.pstate = d.policy
        if d.block is not None:
            self.blk_rows.append((k, BLOCK_CODES[d.block]))
            return
        vol = d.volume
        spec = book.spec
        self.pstate = policy.record_emit(cfg.policy, self.pstate, tier, now)
        self.fstate = ledger.with_trade_opened(now)
        conf = float(s.confidence[i])
        session = _SESSIONS[int(self.sess[r][j])]
        draw = self.costs.sample(pair, session, self.rng, cfg.latency_ms)
        open_px = float(pd.bars.open[i + 1])
        entry_fill = open_px * (1.0 + sign * draw.one_way_bps / 1e4)
        ex, q = self.exit_of(r, j)
        reason = int(ex.reason[q])
        xp = float(ex.price[q])
        cs = spec.contract_size
        cost = exit_cost_bps_of(draw.spread_bps, draw.slippage_bps, reason)
        exit_fill, pnl = closed_trade(sign, entry_fill, xp, cost, vol, cs, cfg.fee_bps)
        risk_money = abs(entry - sl) * vol * cs
        worst_pnl = sign * (float(ex.worst[q]) - entry_fill) * vol * cs - cfg.fee_bps / 1e4 * entry_fill * vol * cs
        direction = Direction.LONG if sign > 0 else Direction.SHORT
        sid = f"bt-{self.seq:09d}"
        pos = Position(sid, pair, direction, vol, entry_fill, sl, tp, now, sid)
        self.opened.append(_Open(int(ex.at_ms[q]), self.seq, r, pos, pnl))
        self.changed()
        self.sig_rows.append((now, r, i, sign, int(tier), conf, entry, sl, tp, vol, int(d.reduced)))
        self.trade_rows.append(
            (
                now,
                r,
                i,
                sign,
                int(tier),
                conf,
                vol,
                entry,
                sl,
                tp,
                entry_fill,
                int(ex.at_ms[q]),
                int(ex.bar[q]),
                exit_fill,
                reason,
                pnl,
                pnl / risk_money if risk_money > 0 else 0.0,
                equity,
                draw.spread_bps,
                draw.slippage_bps,
                draw.latency_penalty_bps,
                int(self.sess[r][j]),
                min(worst_pnl, pnl),
            )
        )
        self.seq += 1

    # ------------------------------------------------------------------ the bulk path
    def classify(self, k0: int, k1: int) -> IntArray:
        """Reason code for events k0..k1-1 that the current (frozen) state certainly blocks,
        _UNSURE where the scalar path must decide. Valid while no event changes the state."""
        cfg = self.cfg
        ps = self.pstate
        n = k1 - k0
        t = self.t[k0:k1]
        now = int(self.t[k0])
        out = np.full(n, _UNSURE, dtype=np.int64)
        if ps.kill_switch:
            return np.full(n, BLOCK_CODES[BlockReason.KILL_SWITCH], dtype=np.int64)
        if ps.is_halted(now):  # the interval ends where the halt does
            return np.full(n, BLOCK_CODES[BlockReason.HALTED], dtype=np.int64)
        tier = self.ev_tier[k0:k1]
        sess = self.now_sess[k0:k1]
        recent = [e for e in ps.emitted if now - e[0] < cfg.policy.window_ms]
        if len(recent) >= cfg.policy.max_per_hour:
            return np.full(n, BLOCK_CODES[BlockReason.RATE_LIMIT], dtype=np.int64)
        for tr in Tier:
            lim = cfg.policy.tier_limit(tr)
            if lim is not None and sum(1 for _, x in recent if x is tr) >= lim:
                out[tier == int(tr)] = BLOCK_CODES[BlockReason.RATE_LIMIT_TIER]
        mult = 1.0 - cfg.policy.backoff_risk_reduction_pct / 100.0 if ps.in_backoff(now) else 1.0
        # equity and worst case at each event's marks, summed in the scalar path's order
        exact = not self.opened
        if exact:
            equity: FloatArray | float = self.balance
            worst: FloatArray | float = self.balance
            used = 0.0
        else:
            floating = np.zeros(n)
            drop = np.zeros(n)
            exits = np.zeros(n)  # the open positions' exit-cost allowance
            used = sum(self.specs[o.position.pair].margin_for(o.position.volume, o.position.entry) for o in self.opened)
            for o in self.opened:
                p = o.position
                cs = self.specs[p.pair].contract_size
                idx = np.searchsorted(self.ends[o.rank], t, side="right") - 1
                mk = np.where(idx >= 0, self.pairs[o.rank].bars.close[np.maximum(idx, 0)], p.entry)
                pnl_m = p.direction.sign * (mk - p.entry) * p.volume * cs
                floating = floating + pnl_m
                drop = drop + np.maximum(0.0, pnl_m - p.pnl_at(p.sl, cs))
                exits = exits + self.exit_table[o.rank, sess] / 1e4 * max(abs(p.entry), abs(p.sl)) * p.volume * cs
            equity = self.balance + floating
            worst = equity - drop - exits
        # The FTMO check as each event's refresh would leave it: the balance is constant over the
        # range, so every event after the first Prague midnight sees the same rolled floors.
        chk = ftmo.check(cfg.rules, self.refreshed(now), self.balance)
        kd = int(np.searchsorted(t, next_day_start_ms(now), side="left"))
        floor: FloatArray | float = chk.floor
        codes: IntArray | int = _guard_code(chk)
        # With no open position equity is the balance itself, bit for bit as in the scalar path, and
        # every comparison below can be exact; otherwise keep a rounding margin (the scalar path decides).
        tol: FloatArray | float = 0.0 if exact else 1e-7 * max(1.0, abs(chk.floor))
        htol: FloatArray | float = 0.0 if exact else 1e-6 * max(1.0, abs(chk.floor))
        if kd < n:
            chk2 = ftmo.check(cfg.rules, self.refreshed(int(t[kd])), self.balance)
            later = np.arange(n) >= kd
            floor = np.where(later, chk2.floor, chk.floor)
            codes = np.where(later, _guard_code(chk2), codes)
            if not exact:
                tol = np.where(later, 1e-7 * max(1.0, abs(chk2.floor)), tol)
                htol = np.where(later, 1e-6 * max(1.0, abs(chk2.floor)), htol)
        # certainly no breach (a breach latches a halt: scalar path)
        safe = equity >= floor if exact else equity > floor + tol
        todo = safe & (out == _UNSURE)
        # position limits, after the FTMO refresh and before sizing (domain.decision.decide_trade)
        if len(self.opened) >= cfg.limits.max_open:
            out[todo] = BLOCK_CODES[BlockReason.MAX_OPEN_POSITIONS]
            todo &= False
        else:
            per_pair = np.bincount(np.array([o.rank for o in self.opened], dtype=np.int64), minlength=len(self.pairs))
            full = todo & (per_pair[self.rank[k0:k1]] >= cfg.limits.max_per_pair)
            out[full] = BLOCK_CODES[BlockReason.MAX_POSITIONS_PER_PAIR]
            todo &= ~full
        min_lot = self.ev_min_lot[k0:k1]
        per_lot = self.ev_per_lot[k0:k1]
        budget = equity * cfg.risk_pct / 100.0 * mult
        with np.errstate(divide="ignore", invalid="ignore"):
            v = np.where(per_lot > 0, budget / per_lot, np.inf)
        lo, hi = min_lot * (1 - 1e-6), min_lot * (1 + 1e-6)
        out[todo & (per_lot > 0) & (v < lo)] = BLOCK_CODES[BlockReason.BELOW_MIN_LOT]
        # the free-margin cap (domain.sizing.size_order), after the risk budget
        vm = (equity - used) / self.ev_margin_lot[k0:k1]
        risk_sized = todo & (per_lot > 0) & (v >= hi)
        out[risk_sized & (vm < lo)] = BLOCK_CODES[BlockReason.INSUFFICIENT_MARGIN]
        sized = risk_sized & (vm >= hi)
        step = self.ev_step[k0:k1]
        vol = np.minimum(np.floor(np.minimum(v, vm) / step + 1e-9) * step, self.ev_max_lot[k0:k1])
        head = worst - floor
        per_lot_all = self.ev_per_lot_all[k0:k1]
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(per_lot > 0, head / per_lot_all, 0.0)
        blocked = sized & ((head <= -htol) | ((head > htol) & (fit < lo) & (vol * per_lot_all > head + htol)))
        out[blocked] = codes if isinstance(codes, int) else codes[blocked]
        return out

    def run(self) -> None:
        m = int(self.t.shape[0])
        k = 0
        cache: IntArray | None = None
        cache_k0 = 0
        cache_end = 0
        while k < m:
            now = int(self.t[k])
            if cache is not None and k < cache_end:
                code = int(cache[k - cache_k0])
                if code != _UNSURE:
                    # a run of certain blocks: take it whole
                    seg = cache[k - cache_k0 : cache_end - cache_k0]
                    run_len = int(np.argmax(seg == _UNSURE)) if bool((seg == _UNSURE).any()) else seg.shape[0]
                    self.blk_bulk.append((np.arange(k, k + run_len), seg[:run_len].copy()))
                    refreshed = np.flatnonzero(np.isin(seg[:run_len], _REFRESHED))
                    if refreshed.shape[0]:
                        # the live desk refreshed at each of these; the state is that of the last one
                        self.fstate = self.refreshed(int(self.t[k + int(refreshed[-1])]))
                        self.note_check(False, False)  # bulk gives these codes only above the floor
                    k += run_len
                    continue
            else:
                cache = None
                self.advance(now)
                # too few events before the next change for the bulk path: the scalar path, as below
                horizon = self.next_change(now, int(self.t[k + BULK_MIN - 1]) if k + BULK_MIN <= m else _INT_MAX)
                kend = min(int(self.t.searchsorted(horizon, side="left")), k + BULK_MAX)
                if kend - k >= BULK_MIN:
                    cache, cache_k0, cache_end = self.classify(k, kend), k, kend
                    continue
            self.advance(now)
            before = (self.seq, self.pstate.halted_until_ms)
            self.scalar(k)
            if (self.seq, self.pstate.halted_until_ms) != before:
                cache = None
            k += 1
        self.finish()


def run(
    pairs: Sequence[PairData],
    cfg: EngineConfig,
    costs: CostModel,
    rng: np.random.Generator,
    *,
    start_balance: float | None = None,
    bulk: bool = True,
) -> EngineResult:
    """Run the backtest. `bulk=False` sends every candidate through the scalar path (same result)."""
    s1 = [stage1(p, cfg) for p in pairs]
    kern = _Kernel(pairs, s1, cfg, costs, rng, cfg.rules.initial_balance if start_balance is None else start_balance)
    if not bulk:
        global BULK_MIN
        saved, BULK_MIN = BULK_MIN, 1 << 62
        try:
            kern.run()
        finally:
            BULK_MIN = saved
    else:
        kern.run()
    # blocks in event order, with their event's time, pair, bar, tier and confidence
    pos = [np.array([b[0] for b in kern.blk_rows], dtype=np.int64)] + [b[0] for b in kern.blk_bulk]
    codes = [np.array([b[1] for b in kern.blk_rows], dtype=np.int64)] + [b[1] for b in kern.blk_bulk]
    bp = np.concatenate(pos)
    bc = np.concatenate(codes)
    o = np.argsort(bp, kind="stable")
    bp, bc = bp[o], bc[o]
    br = kern.rank[bp]
    bar = np.zeros(bp.shape[0], dtype=np.int64)
    tier = np.zeros(bp.shape[0], dtype=np.int64)
    conf = np.zeros(bp.shape[0])
    for r, s in enumerate(s1):
        sel = br == r
        bar[sel] = s.cand[kern.local[bp[sel]]]
        tier[sel] = s.tier[bar[sel]]
        conf[sel] = s.confidence[bar[sel]]
    blocks: dict[str, npt.NDArray[np.generic]] = {
        "at_ms": kern.t[bp],
        "pair": br,
        "bar": bar,
        "reason": bc,
        "tier": tier,
        "confidence": conf,
    }
    return EngineResult(
        tuple(p.pair for p in pairs),
        tuple(s1),
        _columns(kern.sig_rows, SIGNAL_COLUMNS),
        blocks,
        _columns(kern.trade_rows, TRADE_COLUMNS),
        kern.balance,
        kern.breach_episodes,
        kern.ftmo_breach_episodes,
        kern.breach_halt_days,
    )


_SESSIONS = tuple(Session)
_TIER_OF = {int(t): t for t in Tier}


@numba.njit(cache=True)
def _grid_equity(
    balance: float,
    gmark: FloatArray,
    gvalid: npt.NDArray[np.bool_],
    i: int,
    j: int,
    rank: IntArray,
    sign: FloatArray,
    entry: FloatArray,
    volume: FloatArray,
    cs: FloatArray,
) -> FloatArray:
    """Equity at grid closes i..j-1: the balance plus every open position's P&L at its pair's mark
    (Position.pnl_at's arithmetic), summed in opening order as the simulated broker sums them."""
    out = np.empty(j - i)
    for t in range(j - i):
        f = 0.0
        for q in range(rank.shape[0]):
            r = rank[q]
            mk = gmark[r, i + t] if gvalid[r, i + t] else entry[q]
            f = f + sign[q] * (mk - entry[q]) * volume[q] * cs[q]
        out[t] = balance + f
    return out


@numba.njit(cache=True)
def _first_below(x: FloatArray, a: int, b: int, floor: float) -> int:
    """The first offset c >= 0 with x[a + c] < floor in x[a:b], -1 if none."""
    for k in range(a, b):
        if x[k] < floor:
            return k - a
    return -1


def _guard_code(chk: ftmo.FtmoCheck) -> int:
    """The guard's block for an order that would cross the binding floor."""
    return BLOCK_CODES[BlockReason.DAILY_LOSS if chk.binding == "daily_loss" else BlockReason.MAX_LOSS]


def _cost(
    fn: Callable[[CostModel, str, Session, float, float], float],
    costs: CostModel,
    pair: str,
    session: Session,
    cfg: EngineConfig,
) -> float:
    """A guard cost (domain.guard) with the live desk's fallback for a pair the model lacks."""
    try:
        return fn(costs, pair, session, cfg.latency_ms, cfg.fee_bps)
    except UnknownCostCell:
        return fn(DEFAULT_COST_ALLOWANCE, pair, session, cfg.latency_ms, cfg.fee_bps)


def session_code(s: Session) -> int:
    return _SESSIONS.index(s)


SIGNAL_COLUMNS = (
    ("at_ms", np.int64),
    ("pair", np.int64),
    ("bar", np.int64),
    ("sign", np.int64),
    ("tier", np.int64),
    ("confidence", np.float64),
    ("entry", np.float64),
    ("sl", np.float64),
    ("tp", np.float64),
    ("volume", np.float64),
    ("reduced", np.int64),
)
BLOCK_COLUMNS = (
    ("at_ms", np.int64),
    ("pair", np.int64),
    ("bar", np.int64),
    ("reason", np.int64),
    ("tier", np.int64),
    ("confidence", np.float64),
)
TRADE_COLUMNS = (
    ("entry_ms", np.int64),
    ("pair", np.int64),
    ("bar", np.int64),
    ("sign", np.int64),
    ("tier", np.int64),
    ("confidence", np.float64),
    ("volume", np.float64),
    ("entry", np.float64),
    ("sl", np.float64),
    ("tp", np.float64),
    ("entry_fill", np.float64),
    ("exit_ms", np.int64),
    ("exit_bar", np.int64),
    ("exit_fill", np.float64),
    ("exit_reason", np.int64),
    ("pnl", np.float64),
    ("r", np.float64),
    ("equity_at_entry", np.float64),
    ("spread_bps", np.float64),
    ("slippage_bps", np.float64),
    ("latency_penalty_bps", np.float64),
    ("session", np.int64),
    ("worst_pnl", np.float64),
)


def _columns(rows: list[tuple[object, ...]], spec: tuple[tuple[str, type], ...]) -> dict[str, npt.NDArray[np.generic]]:
    if not rows:
        return {name: np.zeros(0, dtype=dt) for name, dt in spec}
    cols = list(zip(*rows, strict=True))
    return {name: np.asarray(col, dtype=dt) for (name, dt), col in zip(spec, cols, strict=True)}
