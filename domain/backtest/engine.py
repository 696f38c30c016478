"""The batch backtest engine.

Stage 1 (vectorised, per pair): confidence from the precomputed up-probabilities, raw tiers, tiers
with hysteresis, stop/target levels, and every candidate's exit (domain.backtest.lifecycle).
Stage 2 (sequential, over candidates only): settle trades that ended, roll the FTMO day, then the
real policy (kill switch, halt, rate limits, backoff), sizing and the FTMO guard decide; emitted
orders draw their costs from the execution model in order, exactly as the simulated broker does.
Bars without a candidate are never visited in Python; open positions are touched only when a
candidate needs their mark-to-market or when they close.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs
import numpy as np
import numpy.typing as npt

from domain import ftmo, policy
from domain.backtest.levels import LevelRule
from domain.backtest.lifecycle import ExitReason, resolve_exits
from domain.confidence import ConfidenceParams, score_batch
from domain.execution_costs import CostModel, cost_sessions
from domain.guard import Verdict, guard_order
from domain.market import Candles, Session, atr
from domain.prague_time import next_day_start_ms
from domain.signals import BlockReason, Direction, Tier, TierThresholds
from domain.sizing import position_size
from domain.tiering import hysteresis_batch, raw_tiers_batch
from domain.trading import Position, SymbolSpec

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

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
    thresholds: TierThresholds = TierThresholds()
    hysteresis_scans: int = 2
    confidence: ConfidenceParams = ConfidenceParams()
    policy: policy.PolicyConfig = policy.PolicyConfig()
    rules: ftmo.FtmoRules = ftmo.FtmoRules()
    risk_pct: float = 0.5
    levels: LevelRule = LevelRule()
    horizon_bars: int = 3
    fee_bps: float = 0.0  # commission per side, bps of notional
    latency_ms: float = 0.0  # decision-to-order latency; above the cost model's SLA the fill is degraded
    kill_switch: bool = False


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
    exit_bar: IntArray
    exit_price: FloatArray
    exit_reason: npt.NDArray[np.int8]
    exit_at: IntArray


def stage1(pd: PairData, cfg: EngineConfig) -> Stage1:
    b = pd.bars
    n = len(b)
    cb = score_batch(pd.probs, cfg.confidence)
    raw = raw_tiers_batch(cb.confidence, cfg.thresholds)
    eff = hysteresis_batch(cb.direction_sign, raw, cfg.hysteresis_scans)
    a = atr(b.high, b.low, b.close, cfg.levels.atr_window) if n else np.zeros(0)
    has_next = np.arange(n) + 1 < n
    ok_levels = np.isfinite(a) & (a > 0)
    outcome = np.full(n, CANDIDATE, dtype=np.int8)
    outcome[~ok_levels | ~has_next] = BLOCK_CODES[BlockReason.NO_DATA]
    outcome[(eff == 0) & (raw > 0)] = BLOCK_CODES[BlockReason.HYSTERESIS]
    outcome[raw == 0] = BLOCK_CODES[BlockReason.TIER_NONE]
    outcome[cb.direction_sign == 0] = BLOCK_CODES[BlockReason.NO_PREDICTION]
    cand = np.flatnonzero(outcome == CANDIDATE).astype(np.int64)
    sign = cb.direction_sign[cand]
    entry_ref = b.close[cand]
    sl, tp = cfg.levels.levels_batch(entry_ref, a[cand], sign)
    ex = resolve_exits(b, cand + 1, sign, sl, tp, cfg.horizon_bars, pd.fine)
    return Stage1(
        pd.pair, cb.prob_up, cb.direction_sign, cb.confidence, raw, eff, outcome, cand,
        entry_ref, sl, tp, ex.bar, ex.price, ex.reason, ex.at_ms,
    )


@attrs.frozen(eq=False)
class EngineResult:
    pairs: tuple[str, ...]
    stage1: tuple[Stage1, ...]
    signals: dict[str, npt.NDArray[np.generic]]  # column arrays, one row per emitted signal
    blocks: dict[str, npt.NDArray[np.generic]]  # stage-2 blocks (policy, sizing, guard)
    trades: dict[str, npt.NDArray[np.generic]]  # one row per emitted signal, its fill and exit
    final_balance: float
    guardrail_breaches: int  # our buffered floors crossed (equity at a decision or a close)
    ftmo_breaches: int  # FTMO's own floors crossed


@attrs.frozen
class _Open:
    exit_at: int
    seq: int
    rank: int
    position: Position
    pnl: float


def run(
    pairs: Sequence[PairData],
    cfg: EngineConfig,
    costs: CostModel,
    rng: np.random.Generator,
    *,
    start_balance: float | None = None,
) -> EngineResult:
    s1 = [stage1(p, cfg) for p in pairs]
    names = [p.pair for p in pairs]
    specs: dict[str, SymbolSpec] = {p.pair: p.spec for p in pairs}
    rules = cfg.rules
    # decision time of each candidate: the close of its bar
    t_all = np.concatenate([p.bars.ts[s.cand] + p.bars.timeframe.ms for p, s in zip(pairs, s1, strict=True)])
    rank_all = np.concatenate([np.full(s.cand.shape[0], r, dtype=np.int64) for r, s in enumerate(s1)])
    local_all = np.concatenate([np.arange(s.cand.shape[0], dtype=np.int64) for s in s1])
    order = np.lexsort((rank_all, t_all))
    ends = [p.bars.ts + p.bars.timeframe.ms for p in pairs]

    def mark(rank: int, now: int) -> float | None:
        """Close of the last bar of that pair that closed at or before `now`."""
        k = int(np.searchsorted(ends[rank], now, side="right")) - 1
        return float(pairs[rank].bars.close[k]) if k >= 0 else None
    sess_all = [cost_sessions(p.bars.ts[s.cand + 1]) if s.cand.shape[0] else [] for p, s in zip(pairs, s1, strict=True)]

    balance = float(start_balance if start_balance is not None else rules.initial_balance)
    t0 = int(t_all[order[0]]) if order.shape[0] else 0
    fstate = ftmo.FtmoState.start(t0, balance)
    next_midnight = next_day_start_ms(t0)
    pstate = policy.set_kill_switch(policy.PolicyState(), cfg.kill_switch)
    opened: list[_Open] = []
    seq = 0
    breaches = 0
    ftmo_breaches = 0

    sig_rows: list[tuple[object, ...]] = []
    blk_rows: list[tuple[object, ...]] = []
    trade_rows: list[tuple[object, ...]] = []

    def close_until(now: int) -> None:
        nonlocal balance, fstate, next_midnight, pstate
        while opened:
            o = min(opened, key=lambda x: (x.exit_at, x.seq))
            if o.exit_at > now:
                return
            if o.exit_at >= next_midnight:
                fstate = fstate.roll(o.exit_at, balance)
                next_midnight = next_day_start_ms(o.exit_at)
            opened.remove(o)
            balance += o.pnl
            fstate = fstate.with_closed_pnl(o.exit_at, o.pnl)
            if o.pnl < 0:
                pstate = policy.record_loss(cfg.policy, pstate, o.exit_at, next_day_start_ms(o.exit_at))

    for e in order.tolist():
        r = int(rank_all[e])
        j = int(local_all[e])
        now = int(t_all[e])
        s = s1[r]
        pd = pairs[r]
        pair = pd.pair
        close_until(now)
        if now >= next_midnight:
            fstate = fstate.roll(now, balance)
            next_midnight = next_day_start_ms(now)
        marks: dict[str, float] = {}
        floating = 0.0
        positions = [o.position for o in opened]
        for o in opened:
            m = marks.get(o.position.pair)
            if m is None:
                m = mark(o.rank, now)
                if m is None:
                    m = o.position.entry
                marks[o.position.pair] = m
            floating += o.position.pnl_at(m, specs[o.position.pair].contract_size)
        equity = balance + floating
        chk = ftmo.check(rules, fstate, equity)
        if chk.breached:
            breaches += 1
            pstate = policy.latch_halt(pstate, f"{chk.binding} floor crossed", next_midnight)
        if chk.ftmo_breached:
            ftmo_breaches += 1
        i = int(s.cand[j])
        tier = Tier(int(s.tier[i]))
        conf = float(s.confidence[i])
        sign = int(s.direction[i])
        entry = float(s.entry_ref[j])
        sl = float(s.sl[j])
        tp = float(s.tp[j])
        dec = policy.check(cfg.policy, pstate, tier, now)
        if not dec.allowed:
            blk_rows.append((now, r, i, BLOCK_CODES[dec.reason or BlockReason.HALTED], int(tier), conf))
            continue
        spec = specs[pair]
        vol = position_size(equity, cfg.risk_pct, entry, sl, spec, dec.risk_multiplier)
        if vol <= 0:
            blk_rows.append((now, r, i, BLOCK_CODES[BlockReason.BELOW_MIN_LOT], int(tier), conf))
            continue
        session = sess_all[r][j]
        cost_bps = costs.expected_round_trip_cost_bps(pair, session, cfg.latency_ms) + 2 * cfg.fee_bps
        extra = cost_bps / 1e4 * entry * vol * spec.contract_size
        g = guard_order(chk, balance, positions, specs, pair, entry, sl, vol, marks=marks, extra_cost=extra)
        if g.verdict is Verdict.BLOCK:
            blk_rows.append((now, r, i, BLOCK_CODES[g.reason or BlockReason.BROKER_ERROR], int(tier), conf))
            continue
        vol = g.volume
        pstate = policy.record_emit(cfg.policy, pstate, tier, now)
        fstate = fstate.with_trade_opened(now)
        draw = costs.sample(pair, session, rng, cfg.latency_ms)
        open_px = float(pd.bars.open[i + 1])
        entry_fill = open_px * (1.0 + sign * draw.one_way_bps / 1e4)
        reason = int(s.exit_reason[j])
        xp = float(s.exit_price[j])
        exit_cost = draw.spread_bps / 2 + (0.0 if reason == ExitReason.TAKE_PROFIT else draw.slippage_bps)
        exit_fill = xp * (1.0 - sign * exit_cost / 1e4)
        cs = spec.contract_size
        fee = cfg.fee_bps / 1e4 * (entry_fill + exit_fill) * vol * cs
        pnl = sign * (exit_fill - entry_fill) * vol * cs - fee
        risk_money = abs(entry - sl) * vol * cs
        direction = Direction.LONG if sign > 0 else Direction.SHORT
        pos = Position(f"bt-{seq}", pair, direction, vol, entry_fill, sl, tp, now, f"bt-{seq}")
        opened.append(_Open(int(s.exit_at[j]), seq, r, pos, pnl))
        sig_rows.append((now, r, i, sign, int(tier), conf, entry, sl, tp, vol, int(g.verdict is Verdict.REDUCE)))
        trade_rows.append((
            now, r, i, sign, int(tier), conf, vol, entry, sl, tp, entry_fill, int(s.exit_at[j]), int(s.exit_bar[j]),
            exit_fill, reason, pnl, pnl / risk_money if risk_money > 0 else 0.0, equity,
            draw.spread_bps, draw.slippage_bps, draw.latency_penalty_bps, session_code(session),
        ))
        seq += 1
    close_until(np.iinfo(np.int64).max)
    return EngineResult(
        tuple(names), tuple(s1),
        _columns(sig_rows, SIGNAL_COLUMNS), _columns(blk_rows, BLOCK_COLUMNS), _columns(trade_rows, TRADE_COLUMNS),
        balance, breaches, ftmo_breaches,
    )


_SESSIONS = tuple(Session)


def session_code(s: Session) -> int:
    return _SESSIONS.index(s)


SIGNAL_COLUMNS = (
    ("at_ms", np.int64), ("pair", np.int64), ("bar", np.int64), ("sign", np.int64), ("tier", np.int64),
    ("confidence", np.float64), ("entry", np.float64), ("sl", np.float64), ("tp", np.float64),
    ("volume", np.float64), ("reduced", np.int64),
)
BLOCK_COLUMNS = (
    ("at_ms", np.int64), ("pair", np.int64), ("bar", np.int64), ("reason", np.int64), ("tier", np.int64),
    ("confidence", np.float64),
)
TRADE_COLUMNS = (
    ("entry_ms", np.int64), ("pair", np.int64), ("bar", np.int64), ("sign", np.int64), ("tier", np.int64),
    ("confidence", np.float64), ("volume", np.float64), ("entry", np.float64), ("sl", np.float64),
    ("tp", np.float64), ("entry_fill", np.float64), ("exit_ms", np.int64), ("exit_bar", np.int64),
    ("exit_fill", np.float64), ("exit_reason", np.int64), ("pnl", np.float64), ("r", np.float64),
    ("equity_at_entry", np.float64), ("spread_bps", np.float64), ("slippage_bps", np.float64),
    ("latency_penalty_bps", np.float64), ("session", np.int64),
)


def _columns(rows: list[tuple[object, ...]], spec: tuple[tuple[str, type], ...]) -> dict[str, npt.NDArray[np.generic]]:
    if not rows:
        return {name: np.zeros(0, dtype=dt) for name, dt in spec}
    cols = list(zip(*rows, strict=True))
    return {name: np.asarray(col, dtype=dt) for (name, dt), col in zip(spec, cols, strict=True)}


def is_finite(x: float) -> bool:
    return math.isfinite(x)
