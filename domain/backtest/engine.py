"""The batch backtest engine.

Stage 1 (vectorised, per pair, whole-series arrays): the live stop ATR and volatility regime
(domain.volatility), confidence from the precomputed up-probabilities, raw tiers, tiers with
hysteresis and stop/target levels; every candidate's exit (domain.backtest.lifecycle), resolved once,
vectorised (exits do not depend on sizing or costs).
Stage 2 (sequential, compiled): domain.backtest.kernel.run_stage2 walks the candidates and the bar
closes in time order: trades settle, the live cycle's FTMO check runs at every bar close (halt,
FLATTEN_ON_FLOOR), and each candidate goes through the live desk's own decision
(domain.decision.decide_core: policy, FTMO check and halt, position limits, sizing, FTMO guard) on the
engine's book; emitted orders draw their costs from the execution model in order, exactly as the
simulated broker does. `NUMBA_DISABLE_JIT=1` runs the same code as Python, with the same results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from domain import ftmo, policy
from domain.backtest.kernel import (
    C_BREACH,
    C_ERROR_EVENT,
    C_FTMO_BREACH,
    C_HALT_DAYS,
    C_TRADES,
    TF_CONF,
    TF_ENTRY,
    TF_EQUITY,
    TF_EXIT_FILL,
    TF_FILL,
    TF_PENALTY,
    TF_PNL,
    TF_R,
    TF_SL,
    TF_SLIP,
    TF_SPREAD,
    TF_TP,
    TF_VOL,
    TF_WORST,
    TI_BAR,
    TI_ENTRY_MS,
    TI_EXIT_BAR,
    TI_EXIT_MS,
    TI_PAIR,
    TI_REASON,
    TI_REDUCED,
    TI_SESSION,
    TI_SIGN,
    TI_TIER,
    run_stage2,
)
from domain.backtest.lifecycle import resolve_exits
from domain.backtest.windowed import window_starts
from domain.confidence import ConfidenceParams, regime_booster_batch, score_batch
from domain.errors import ConfigError
from domain.execution_costs import CostModel, UnknownCostCell, cost_session_codes
from domain.guard import DEFAULT_COST_ALLOWANCE, exit_cost_bps, round_trip_cost_bps
from domain.market import Candles, Session, session_end_hours
from domain.sentiment import SENTIMENT_MEMBER, against_sentiment_batch
from domain.settings import DEFAULT_LOOKBACK_BARS, KernelSettings, PositionLimits, live_lookback
from domain.signals import BLOCK_CODES, REASON_OF_CODE, BlockReason, TierThresholds
from domain.tiering import hysteresis_batch, raw_tiers_batch
from domain.trading import SymbolSpec
from domain.volatility import MEDIUM, regime_codes, stop_atr

__all__ = [
    "BLOCK_CODES",
    "REASON_OF_CODE",
    "EngineConfig",
    "EngineResult",
    "PairData",
    "Prepared",
    "Stage1",
    "prepare",
    "run",
    "stage1",
    "walk",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
_INT_MAX = int(np.iinfo(np.int64).max)

# Per-bar outcome codes of stage 1 (0 = a candidate that goes on to stage 2).
CANDIDATE = 0
PRE_BLOCKS: tuple[BlockReason, ...] = (
    BlockReason.NO_PREDICTION,
    BlockReason.TIER_NONE,
    BlockReason.HYSTERESIS,
    BlockReason.NO_DATA,
)


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
    lowest_equity: float = float("inf")  # the lowest equity the bar-close FTMO checks saw (inf: no check)


@attrs.frozen(eq=False)
class Prepared:
    """Everything the walk reads, built once per run: stage 1, the candidates in time order with their
    exits, the grid of bar closes and the cost tables. `walk` runs the kernel over all of it (`run`) or
    over one time window (the challenge simulator's days, domain.challenge.KernelDays)."""

    pairs: tuple[PairData, ...]
    cfg: EngineConfig
    costs: CostModel
    stage1: tuple[Stage1, ...]
    ev_t: IntArray  # candidates of every pair at their bar's close, in time order (ties: pair order)
    ev_rank: IntArray
    ev_cand: IntArray
    ev_sess: IntArray
    ev_grid: IntArray
    grid: IntArray  # the live cycle's clock: every bar close that has a next bar
    gmark: FloatArray  # each pair's mark at each grid close
    gvalid: npt.NDArray[np.bool_]
    fill_sess: IntArray
    c_bar: IntArray
    c_tier: IntArray
    c_conf: FloatArray
    candidates: tuple[Any, ...]  # run_stage2's c_sign .. c_tp
    exits: tuple[Any, ...]  # run_stage2's c_open_next .. x_worst
    bars: tuple[Any, ...]  # run_stage2's bar arguments (b_off .. b_high)
    tables: tuple[Any, ...]  # run_stage2's specs and cost tables (s_cs .. known)
    settings: tuple[Any, ...]  # run_stage2's settings (kill_switch .. end_hours)

    def window(self, t0: int, t1: int) -> tuple[int, int, int, int]:
        """Events [k0, k1) and grid closes [g0, g1) whose time is in [t0, t1)."""
        k0, k1 = (int(x) for x in self.ev_t.searchsorted([t0, t1]))
        g0, g1 = (int(x) for x in self.grid.searchsorted([t0, t1]))
        return k0, k1, g0, g1


def prepare(pairs: Sequence[PairData], cfg: EngineConfig, costs: CostModel) -> Prepared:
    """Stage 1 per pair and everything the compiled walk reads."""
    s1 = [stage1(p, cfg) for p in pairs]
    n_p = len(pairs)
    t_all = np.concatenate(
        [np.zeros(0, np.int64)] + [p.bars.ts[s.cand] + p.bars.timeframe.ms for p, s in zip(pairs, s1, strict=True)]
    )
    rank_all = np.concatenate(
        [np.zeros(0, np.int64)] + [np.full(s.cand.shape[0], r, dtype=np.int64) for r, s in enumerate(s1)]
    )
    order = np.lexsort((rank_all, t_all))
    ev_t, ev_rank, ev_cand = t_all[order], rank_all[order], order.astype(np.int64)
    ends = [p.bars.ts + p.bars.timeframe.ms for p in pairs]
    # every bar close that has a next bar; each pair's mark there
    if ends and all(np.array_equal(e, ends[0]) for e in ends[1:]):
        # the usual case, pairs on the same bars: their union is one of them, and grid close j is bar j
        grid = ends[0][:-1]
        gvalid = np.ones((n_p, grid.shape[0]), dtype=np.bool_)
        gmark = np.array([p.bars.close[:-1] for p in pairs], dtype=np.float64).reshape(n_p, grid.shape[0])
    else:
        grid = np.unique(np.concatenate([np.zeros(0, np.int64)] + [e[:-1] for e in ends]))
        gk = [e.searchsorted(grid, side="right") - 1 for e in ends]
        gvalid = np.array([x >= 0 for x in gk], dtype=np.bool_).reshape(n_p, grid.shape[0])
        gmark = np.array([p.bars.close[np.maximum(x, 0)] for p, x in zip(pairs, gk, strict=True)], dtype=np.float64)
        gmark = gmark.reshape(n_p, grid.shape[0])
    # candidates, concatenated, with their exits (resolved once, vectorised: they do not depend on sizing)
    exits = [
        resolve_exits(p.bars, s.cand + 1, s.sign, s.sl, s.tp, cfg.horizon_bars, p.fine)
        for p, s in zip(pairs, s1, strict=True)
    ]

    def cat_i(xs: Sequence[npt.NDArray[np.generic]]) -> IntArray:
        return np.ascontiguousarray(
            np.concatenate([np.zeros(0, np.int64)] + [np.asarray(x, dtype=np.int64) for x in xs])
        )

    def cat_f(xs: Sequence[npt.NDArray[np.generic]]) -> FloatArray:
        return np.ascontiguousarray(np.concatenate([np.zeros(0)] + [np.asarray(x, dtype=np.float64) for x in xs]))

    fill_sess = cat_i(
        [
            cost_session_codes(p.bars.ts[s.cand + 1]) if s.cand.shape[0] else np.zeros(0, np.int64)
            for p, s in zip(pairs, s1, strict=True)
        ]
    )
    # the guard's cost allowance, as the live desk computes it at decision time: per pair and cost session,
    # the WORST round trip with commission on both sides, and each open position's exit allowance
    rt_table = np.array(
        [[_cost(round_trip_cost_bps, costs, p.pair, x, cfg) for x in _SESSIONS] for p in pairs]
    ).reshape(n_p, len(_SESSIONS))
    exit_table = np.array([[_cost(exit_cost_bps, costs, p.pair, x, cfg) for x in _SESSIONS] for p in pairs]).reshape(
        n_p, len(_SESSIONS)
    )
    draws = costs.draw_tables([p.pair for p in pairs], cfg.latency_ms)
    specs = [p.spec for p in pairs]
    rules, pol_cfg = cfg.rules, cfg.policy
    return Prepared(
        tuple(pairs), cfg, costs, tuple(s1),
        ev_t, ev_rank, ev_cand,
        cost_session_codes(ev_t) if ev_t.shape[0] else np.zeros(0, np.int64),
        grid.searchsorted(ev_t).astype(np.int64),
        np.ascontiguousarray(grid), gmark, gvalid,
        fill_sess,
        cat_i([s.cand for s in s1]),
        cat_i([s.tier[s.cand] for s in s1]),
        cat_f([s.confidence[s.cand] for s in s1]),
        (
            cat_i([s.sign for s in s1]),
            cat_f([s.entry_ref for s in s1]),
            cat_f([s.sl for s in s1]),
            cat_f([s.tp for s in s1]),
        ),
        (
            cat_f([p.bars.open[s.cand + 1] for p, s in zip(pairs, s1, strict=True)]),
            cat_i([x.at_ms for x in exits]),
            cat_i([x.bar for x in exits]),
            cat_f([x.price for x in exits]),
            cat_i([x.reason for x in exits]),
            cat_f([x.worst for x in exits]),
        ),
        (
            np.concatenate(([0], np.cumsum([len(p.bars) for p in pairs]))).astype(np.int64),
            cat_i(ends),
            cat_f([p.bars.low for p in pairs]),
            cat_f([p.bars.high for p in pairs]),
        ),
        (
            np.array([x.contract_size for x in specs], dtype=np.float64),
            np.array([x.min_lot for x in specs], dtype=np.float64),
            np.array([x.lot_step for x in specs], dtype=np.float64),
            np.array([x.max_lot for x in specs], dtype=np.float64),
            np.array([x.margin_rate for x in specs], dtype=np.float64),
            np.ascontiguousarray(rt_table, dtype=np.float64),
            np.ascontiguousarray(exit_table, dtype=np.float64),
            draws.spread_q, draws.slip_q, draws.penalty, draws.known,
        ),
        (
            bool(cfg.kill_switch), int(pol_cfg.window_ms), int(pol_cfg.max_per_hour), pol_cfg.tier_limits(),
            int(pol_cfg.backoff_losses), int(pol_cfg.backoff_window_ms), float(pol_cfg.backoff_risk_reduction_pct),
            float(rules.initial_balance), float(rules.daily_buffer_pct), float(rules.total_buffer_pct),
            float(rules.daily_loss_limit_pct), float(rules.max_loss_limit_pct),
            rules.kind is ftmo.ChallengeKind.ONE_STEP, float(cfg.risk_pct),
            int(min(cfg.limits.max_open, _INT_MAX)), int(min(cfg.limits.max_per_pair, _INT_MAX)),
            float(cfg.fee_bps), bool(cfg.flatten_on_floor), session_end_hours(),
        ),
    )  # fmt: skip


def walk(
    prep: Prepared,
    rng: np.random.Generator,
    start_balance: float,
    *,
    max_eod_balance: float | None = None,
    window: tuple[int, int, int, int] | None = None,
) -> EngineResult:
    """The compiled walk (domain.backtest.kernel.run_stage2) over the prepared run, or over `window`
    (Prepared.window: events and grid closes of a time span) on an account that starts flat there at
    `start_balance` (and, for a one-step trailing floor, `max_eod_balance`)."""
    k0, k1, g0, g1 = window if window is not None else (0, prep.ev_t.shape[0], 0, prep.grid.shape[0])
    ev_t = prep.ev_t[k0:k1]
    ev_cand = prep.ev_cand[k0:k1]
    m = int(ev_t.shape[0])
    whole = g0 == 0 and g1 == prep.grid.shape[0]
    gmark = prep.gmark if whole else np.ascontiguousarray(prep.gmark[:, g0:g1])
    gvalid = prep.gvalid if whole else np.ascontiguousarray(prep.gvalid[:, g0:g1])
    # the orders' uniforms: drawn up front, the generator then left where n orders' draws leave it
    saved = rng.bit_generator.state
    uniforms = rng.random((m, 2))
    ev_code = np.zeros(m, dtype=np.int64)
    t_f = np.zeros((m, 14))
    t_i = np.zeros((m, 10), dtype=np.int64)
    counters = np.zeros(5, dtype=np.int64)
    lowest = np.full(1, np.inf)
    args: tuple[Any, ...] = (
        ev_t, prep.ev_rank[k0:k1], ev_cand, prep.ev_sess[k0:k1], prep.ev_grid[k0:k1] - g0,
        prep.c_bar, prep.c_tier, *prep.candidates, prep.c_conf, prep.fill_sess, *prep.exits,
        prep.grid[g0:g1], gmark, gvalid,
        *prep.bars, *prep.tables, uniforms, *prep.settings,
        float(start_balance), float(start_balance if max_eod_balance is None else max_eod_balance),
        ev_code, t_f, t_i, counters, lowest,
    )  # fmt: skip
    final = run_stage2(*args)
    n = int(counters[C_TRADES])
    rng.bit_generator.state = saved
    rng.random((n, 2))
    bad = int(counters[C_ERROR_EVENT])
    pairs = prep.pairs
    if bad >= 0:  # the model lacks this order's cell: the error its own sample gives
        r = int(prep.ev_rank[k0 + bad])
        session = _SESSIONS[int(prep.fill_sess[ev_cand[bad]])]
        prep.costs.sample(pairs[r].pair, session, rng, prep.cfg.latency_ms)
        raise UnknownCostCell(f"no execution profile for {pairs[r].pair}")
    bk = np.flatnonzero(ev_code != 0)
    blocks: dict[str, npt.NDArray[np.generic]] = {
        "at_ms": ev_t[bk],
        "pair": prep.ev_rank[k0:k1][bk],
        "bar": prep.c_bar[ev_cand[bk]],
        "reason": ev_code[bk],
        "tier": prep.c_tier[ev_cand[bk]],
        "confidence": prep.c_conf[ev_cand[bk]],
    }
    tf, ti = t_f[:n], t_i[:n]
    trades: dict[str, npt.NDArray[np.generic]] = {
        name: (ti if ints else tf)[:, col].copy() for name, ints, col in TRADE_COLUMNS
    }
    signals: dict[str, npt.NDArray[np.generic]] = {
        ("at_ms" if name == "entry_ms" else name): trades[name].copy() for name in SIGNAL_COLUMNS
    }
    signals["reduced"] = ti[:, TI_REDUCED].copy()
    return EngineResult(
        tuple(p.pair for p in pairs),
        prep.stage1,
        signals,
        blocks,
        trades,
        float(final),
        int(counters[C_BREACH]),
        int(counters[C_FTMO_BREACH]),
        int(counters[C_HALT_DAYS]),
        float(lowest[0]),
    )


def run(
    pairs: Sequence[PairData],
    cfg: EngineConfig,
    costs: CostModel,
    rng: np.random.Generator,
    *,
    start_balance: float | None = None,
) -> EngineResult:
    """Run the backtest: stage 1 per pair, then the compiled walk (domain.backtest.kernel.run_stage2)."""
    balance = float(cfg.rules.initial_balance if start_balance is None else start_balance)
    return walk(prepare(pairs, cfg, costs), rng, balance)


_SESSIONS = tuple(Session)


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


# The trade columns, in order: name, whether it is in the kernel's int matrix, its column there.
TRADE_COLUMNS: tuple[tuple[str, bool, int], ...] = (
    ("entry_ms", True, TI_ENTRY_MS),
    ("pair", True, TI_PAIR),
    ("bar", True, TI_BAR),
    ("sign", True, TI_SIGN),
    ("tier", True, TI_TIER),
    ("confidence", False, TF_CONF),
    ("volume", False, TF_VOL),
    ("entry", False, TF_ENTRY),
    ("sl", False, TF_SL),
    ("tp", False, TF_TP),
    ("entry_fill", False, TF_FILL),
    ("exit_ms", True, TI_EXIT_MS),
    ("exit_bar", True, TI_EXIT_BAR),
    ("exit_fill", False, TF_EXIT_FILL),
    ("exit_reason", True, TI_REASON),
    ("pnl", False, TF_PNL),
    ("r", False, TF_R),
    ("equity_at_entry", False, TF_EQUITY),
    ("spread_bps", False, TF_SPREAD),
    ("slippage_bps", False, TF_SLIP),
    ("latency_penalty_bps", False, TF_PENALTY),
    ("session", True, TI_SESSION),
    ("worst_pnl", False, TF_WORST),
)
# The signal columns taken from the trade's (entry_ms as at_ms), in order, then `reduced`.
SIGNAL_COLUMNS = ("entry_ms", "pair", "bar", "sign", "tier", "confidence", "entry", "sl", "tp", "volume")
