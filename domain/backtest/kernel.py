"""Stage 2 of the batch engine, compiled: the walk over candidates in time order.

One numba function (`run_stage2`, `@njit(cache=True)`; `NUMBA_DISABLE_JIT=1` runs the same code as
Python) does what the live cycles do between two candidates and at each of them:
- at every bar close (the grid: each close with a next bar, where the runtime runs a cycle), trades
  that ended by then settle in exit order (the FTMO ledger sees each close at its time, losses feed
  the backoff), then the cycle's FTMO check: equity at the marks below a buffered floor latches the
  halt until the next Prague day and, with FLATTEN_ON_FLOOR, closes every open position there;
- at a candidate: domain.decision.decide_core, the live desk's one step order, on the engine's book
  (equity and margin summed in opening order, as the simulated broker sums them), then for an order
  its costs drawn as ExecutionModel.sample draws them (the same uniforms, domain.execution_costs
  `_interp_one`) and its exit from domain.backtest.lifecycle.

The rules' arithmetic is not repeated here: the decision, the floors and the day roll
(domain.ftmo), the Prague calendar, the session end and the close of a trade are the compiled
functions of their own modules, which their Python callers run as well.

The FTMO ledger is kept as (day start, day-start balance, highest end-of-day balance): the engine
observes the balance just before and just after every change, so the balance at a midnight is the
balance seen after it (FtmoState.midnight_balance's exact case).
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from domain.backtest.lifecycle import ExitReason, closed_trade_at, exit_cost_bps_at
from domain.decision import decide_core
from domain.execution_costs import _interp_one
from domain.ftmo import daily_floor_at, rolled_day, total_floor_at
from domain.guard import G_REDUCE, P_CS, P_ENTRY, P_EXIT_BPS, P_MARK, P_SIGN, P_SL, P_VOLUME
from domain.market import session_end_at
from domain.policy import NO_TIME, later_of
from domain.prague_time import day_start_ms, next_day_start_ms
from domain.signals import BLOCK_CODES, BlockReason

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

INT_MAX = int(np.iinfo(np.int64).max)
_FLATTEN = int(ExitReason.FLATTEN)

# the trade matrices' columns (domain.backtest.engine.TRADE_COLUMNS names them): floats, then ints
TF_CONF, TF_VOL, TF_ENTRY, TF_SL, TF_TP, TF_FILL, TF_EXIT_FILL, TF_PNL, TF_R, TF_EQUITY = range(10)
TF_SPREAD, TF_SLIP, TF_PENALTY, TF_WORST = 10, 11, 12, 13
TI_ENTRY_MS, TI_PAIR, TI_BAR, TI_SIGN, TI_TIER, TI_EXIT_MS, TI_EXIT_BAR, TI_REASON, TI_SESSION, TI_REDUCED = range(10)
# counters
C_TRADES, C_BREACH, C_FTMO_BREACH, C_HALT_DAYS, C_ERROR_EVENT = range(5)
# the walk's scalar state, in two small arrays the helpers below update in place
F_BALANCE, F_DSB, F_EOD = range(3)
I_STARTED, I_DAY, I_HALTED_UNTIL, I_BACKOFF_UNTIL, I_LOSS_HEAD, I_LOSS_N, I_OPEN, I_LAST_EXIT = range(8)
I_IN_BREACH, I_IN_FTMO_BREACH = 8, 9  # the last FTMO check found equity below our floor (... FTMO's own)
_KILL_SWITCH = BLOCK_CODES[BlockReason.KILL_SWITCH]
_RATE_LIMIT = BLOCK_CODES[BlockReason.RATE_LIMIT]
_RATE_LIMIT_TIER = BLOCK_CODES[BlockReason.RATE_LIMIT_TIER]
_HALTED = BLOCK_CODES[BlockReason.HALTED]
# decide_core's inputs beyond the policy, before they are read (typed as the real ones)
_NO_FTMO = (0.0, 0.0, False)
_NO_LIMITS = (0, 0, 0, 0)
_NO_ORDER = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, np.nan)


@numba.njit(cache=True, inline="always")
def _day_start(t: int, days: IntArray) -> int:
    """day_start_ms(t), remembered with the next day's start in `days` (the walk asks about the same
    Prague day again and again)."""
    if not (days[0] <= t < days[1]):
        days[0], days[1] = day_start_ms(t), next_day_start_ms(t)
    return int(days[0])


@numba.njit(cache=True, inline="always")
def _book_close(
    at: int,
    pnl: float,
    st_f: FloatArray,
    st_i: IntArray,
    loss_t: IntArray,
    backoff_losses: int,
    backoff_window_ms: int,
    end_hours: IntArray,
    days: IntArray,
) -> None:
    """A trade closed at `at` with `pnl`: the ledger sees the close at its time (rolled at any midnight
    before it with the balance then), the balance takes the P&L, a loss feeds the backoff
    (domain.policy.record_loss: losses within the window, the backoff to the session's end)."""
    if st_i[I_STARTED]:
        st_i[I_DAY], st_f[F_DSB], st_f[F_EOD] = rolled_day(
            st_i[I_DAY], st_f[F_DSB], st_f[F_EOD], _day_start(at, days), st_f[F_BALANCE]
        )
    st_f[F_BALANCE] += pnl
    st_i[I_LAST_EXIT] = max(st_i[I_LAST_EXIT], at)
    if pnl < 0:
        head, n = st_i[I_LOSS_HEAD], st_i[I_LOSS_N]
        while head < n and at - loss_t[head] >= backoff_window_ms:
            head += 1
        loss_t[n] = at
        n += 1
        st_i[I_LOSS_HEAD], st_i[I_LOSS_N] = head, n
        if n - head >= backoff_losses:
            st_i[I_BACKOFF_UNTIL] = later_of(session_end_at(at, end_hours), st_i[I_BACKOFF_UNTIL])


@numba.njit(cache=True, inline="always")
def _settle(
    upto: int,
    st_f: FloatArray,
    st_i: IntArray,
    o_seq: IntArray,
    t_i: IntArray,
    t_f: FloatArray,
    loss_t: IntArray,
    backoff_losses: int,
    backoff_window_ms: int,
    end_hours: IntArray,
    days: IntArray,
) -> None:
    """Close every open trade that ended at or before `upto`, in exit order (ties: opening order)."""
    while st_i[I_OPEN] > 0:
        n = st_i[I_OPEN]
        best = 0
        for q in range(1, n):
            a, b = o_seq[q], o_seq[best]
            if t_i[a, TI_EXIT_MS] < t_i[b, TI_EXIT_MS] or (t_i[a, TI_EXIT_MS] == t_i[b, TI_EXIT_MS] and a < b):
                best = q
        s = o_seq[best]
        at = t_i[s, TI_EXIT_MS]
        if at > upto:
            return
        for q in range(best, n - 1):
            o_seq[q] = o_seq[q + 1]
        st_i[I_OPEN] = n - 1
        _book_close(at, t_f[s, TF_PNL], st_f, st_i, loss_t, backoff_losses, backoff_window_ms, end_hours, days)


@numba.njit(cache=True, inline="always")
def _floors(
    dsb: float, eod: float, rules: tuple[float, float, float, float, float, bool]
) -> tuple[float, float, float]:
    """For a ledger (day-start balance, highest end-of-day balance): our daily floor, our total floor and
    FTMO's binding floor (domain.ftmo.check's floors). `rules`: initial balance, our daily and total
    buffer %, FTMO's daily and total limit %, whether the total floor trails (one-step)."""
    initial, daily_pct, total_pct, ftmo_daily_pct, ftmo_total_pct, trailing = rules
    ftmo = max(daily_floor_at(dsb, ftmo_daily_pct, initial), total_floor_at(eod, ftmo_total_pct, initial, trailing))
    return daily_floor_at(dsb, daily_pct, initial), total_floor_at(eod, total_pct, initial, trailing), ftmo


@numba.njit(cache=True, inline="always")
def _note_check(st_i: IntArray, counters: IntArray, breached: bool, ftmo_breached: bool) -> None:
    """An FTMO check's finding: a breach episode starts where equity is below a floor after a check that
    found it above (ours and FTMO's counted apart)."""
    counters[C_BREACH] += breached and not st_i[I_IN_BREACH]
    counters[C_FTMO_BREACH] += ftmo_breached and not st_i[I_IN_FTMO_BREACH]
    st_i[I_IN_BREACH], st_i[I_IN_FTMO_BREACH] = breached, ftmo_breached


@numba.njit(cache=True, inline="always")
def _refreshed(st_f: FloatArray, st_i: IntArray, now: int, days: IntArray) -> tuple[int, float, float]:
    """The ledger as the live desk's refresh would leave it at `now` (started there, or rolled). Before
    its start F_EOD holds the highest end-of-day balance the account brings (the walk's `start_eod`)."""
    if st_i[I_STARTED]:
        return rolled_day(st_i[I_DAY], st_f[F_DSB], st_f[F_EOD], _day_start(now, days), st_f[F_BALANCE])
    return _day_start(now, days), st_f[F_BALANCE], max(st_f[F_BALANCE], st_f[F_EOD])


@numba.njit(cache=True)
def run_stage2(
    # events: candidates of every pair in time order (then pair rank)
    ev_t: IntArray,
    ev_rank: IntArray,
    ev_cand: IntArray,  # index into the candidate arrays
    ev_sess: IntArray,  # cost session at the decision (the guard's allowance)
    ev_grid: IntArray,  # grid index of the event's time
    # candidates (all pairs, concatenated)
    c_bar: IntArray,
    c_tier: IntArray,
    c_sign: IntArray,
    c_entry: FloatArray,
    c_sl: FloatArray,
    c_tp: FloatArray,
    c_conf: FloatArray,
    c_fill_sess: IntArray,
    c_open_next: FloatArray,
    x_at: IntArray,
    x_bar: IntArray,
    x_price: FloatArray,
    x_reason: IntArray,
    x_worst: FloatArray,
    # the grid of bar closes and each pair's mark there
    grid: IntArray,
    gmark: FloatArray,
    gvalid: BoolArray,
    # bars, for a flattened trade's worst price (pair r: rows b_off[r]..b_off[r+1])
    b_off: IntArray,
    b_end: IntArray,
    b_low: FloatArray,
    b_high: FloatArray,
    # per pair: symbol spec, guard cost tables [pair, session], draw tables [pair * S + session]
    s_cs: FloatArray,
    s_min_lot: FloatArray,
    s_step: FloatArray,
    s_max_lot: FloatArray,
    s_rate: FloatArray,
    rt_table: FloatArray,
    exit_table: FloatArray,
    spread_q: FloatArray,
    slip_q: FloatArray,
    penalty: FloatArray,
    known: BoolArray,
    uniforms: FloatArray,  # rng.random((m, 2)): row k is the k-th order's draw
    # settings
    kill_switch: bool,
    window_ms: int,
    max_per_hour: int,
    tier_limits: IntArray,
    backoff_losses: int,
    backoff_window_ms: int,
    backoff_reduction_pct: float,
    initial: float,
    daily_pct: float,
    total_pct: float,
    ftmo_daily_pct: float,
    ftmo_total_pct: float,
    trailing: bool,
    risk_pct: float,
    max_open: int,
    max_per_pair: int,
    fee_bps: float,
    flatten_on_floor: bool,
    end_hours: IntArray,
    start_balance: float,
    start_eod: float,  # the highest end-of-day balance before the walk (a one-step trailing floor's)
    # outputs
    ev_code: IntArray,  # per event: 0 emitted, else its block code
    t_f: FloatArray,  # [m, 14] trade floats
    t_i: IntArray,  # [m, 10] trade ints
    counters: IntArray,
    lowest: FloatArray,  # [1]: the lowest equity a bar-close check saw (left as given when none ran)
) -> float:
    """Walk the events; fill the outputs; return the final balance. counters[C_ERROR_EVENT] >= 0 names
    the event whose order's costs the model does not know (the walk stopped there)."""
    m = ev_t.shape[0]
    n_sess = rt_table.shape[1]
    g_n = grid.shape[0]
    st_f = np.zeros(3)
    st_f[F_BALANCE] = start_balance
    st_f[F_EOD] = start_eod
    st_i = np.zeros(10, dtype=np.int64)  # the ledger starts at the first refresh, as the live desk's
    st_i[I_HALTED_UNTIL] = NO_TIME
    st_i[I_BACKOFF_UNTIL] = NO_TIME
    emitted = np.zeros((m + 1, 2), dtype=np.int64)  # emitted orders (time, tier), the rate limits' window
    em_head = 0
    em_n = 0
    loss_t = np.zeros(2 * m + 1, dtype=np.int64)
    o_seq = np.zeros(m + 1, dtype=np.int64)  # open trades, in opening order
    rules = (initial, daily_pct, total_pct, ftmo_daily_pct, ftmo_total_pct, trailing)
    n_trades = 0
    gi = 0  # grid closes before gi have had their FTMO check
    counters[C_ERROR_EVENT] = -1
    days = np.zeros(2, dtype=np.int64)  # _day_start's memory: [start, next start) of one Prague day
    pos = np.empty((m + 1, 7))  # the open positions as decide_core reads them (position_arrays' rows)

    for k in range(m + 1):
        upto = ev_t[k] if k < m else (grid[g_n - 1] if g_n > 0 else NO_TIME)
        # ---- every bar close up to the event: settle what ended, then the cycle's FTMO check
        while gi < g_n and grid[gi] <= upto:
            tau = grid[gi]
            _settle(tau, st_f, st_i, o_seq, t_i, t_f, loss_t, backoff_losses, backoff_window_ms, end_hours, days)
            c_day, c_dsb, c_eod = _refreshed(st_f, st_i, tau, days)
            d_floor, t_floor, ftmo_floor = _floors(c_dsb, c_eod, rules)
            floor = max(d_floor, t_floor)
            n_open = st_i[I_OPEN]
            floating = 0.0
            for q in range(n_open):
                s = o_seq[q]
                r = t_i[s, TI_PAIR]
                mk = gmark[r, gi] if gvalid[r, gi] else t_f[s, TF_FILL]
                floating = floating + t_i[s, TI_SIGN] * (mk - t_f[s, TF_FILL]) * t_f[s, TF_VOL] * s_cs[r]
            equity = st_f[F_BALANCE] + floating
            lowest[0] = min(lowest[0], equity)
            halted = st_i[I_HALTED_UNTIL] != NO_TIME and tau < st_i[I_HALTED_UNTIL]
            flatten = flatten_on_floor and n_open > 0
            if equity < floor and (flatten or not halted):
                # the live refresh at this close: the ledger stored, the breach counted and latched
                st_i[I_STARTED], st_i[I_DAY], st_f[F_DSB], st_f[F_EOD] = 1, c_day, c_dsb, c_eod
                _note_check(st_i, counters, True, equity < ftmo_floor)
                if not halted:
                    st_i[I_HALTED_UNTIL] = later_of(next_day_start_ms(tau), st_i[I_HALTED_UNTIL])
                    counters[C_HALT_DAYS] += 1
                if flatten:  # every open trade closes at its mark, in opening order, as a market close
                    for q in range(n_open):
                        s = o_seq[q]
                        r = t_i[s, TI_PAIR]
                        px = gmark[r, gi] if gvalid[r, gi] else t_f[s, TF_FILL]
                        sign = t_i[s, TI_SIGN]
                        vol = t_f[s, TF_VOL]
                        fill = t_f[s, TF_FILL]
                        cost = exit_cost_bps_at(t_f[s, TF_SPREAD], t_f[s, TF_SLIP], _FLATTEN)
                        exit_fill, pnl = closed_trade_at(sign, fill, px, cost, vol, s_cs[r], fee_bps)
                        _book_close(tau, pnl, st_f, st_i, loss_t, backoff_losses, backoff_window_ms, end_hours, days)
                        # the worst price from the entry bar to the bar of the mark
                        kb = np.searchsorted(b_end[b_off[r] : b_off[r + 1]], tau, side="right") - 1
                        lo_i, hi_i = b_off[r] + t_i[s, TI_BAR] + 1, b_off[r] + kb + 1
                        worst = b_low[lo_i:hi_i].min() if sign > 0 else b_high[lo_i:hi_i].max()
                        worst_pnl = sign * (worst - fill) * vol * s_cs[r] - fee_bps / 1e4 * fill * vol * s_cs[r]
                        risk_money = abs(t_f[s, TF_ENTRY] - t_f[s, TF_SL]) * vol * s_cs[r]
                        t_i[s, TI_EXIT_MS], t_i[s, TI_EXIT_BAR], t_i[s, TI_REASON] = tau, kb, _FLATTEN
                        t_f[s, TF_EXIT_FILL], t_f[s, TF_PNL] = exit_fill, pnl
                        t_f[s, TF_R] = pnl / risk_money if risk_money > 0 else 0.0
                        t_f[s, TF_WORST] = min(worst_pnl, pnl)
                    st_i[I_OPEN] = 0
            gi += 1
        if k == m:
            break
        now = ev_t[k]
        _settle(now, st_f, st_i, o_seq, t_i, t_f, loss_t, backoff_losses, backoff_window_ms, end_hours, days)
        # ---- the candidate: the live desk's decision on the engine's book
        r = ev_rank[k]
        c = ev_cand[k]
        g = ev_grid[k]
        sc = ev_sess[k]
        tier = c_tier[c]
        while em_head < em_n and now - emitted[em_head, 0] >= window_ms:
            em_head += 1
        halted_until = st_i[I_HALTED_UNTIL]
        gate_in = (
            kill_switch,
            halted_until,
            now,
            window_ms,
            max_per_hour,
            st_i[I_BACKOFF_UNTIL],
            backoff_reduction_pct,
            tier,
        )
        # decide_core asks for the book only once the policy has let the candidate through (NEED_FTMO):
        # a candidate the policy blocks reads nothing of it, as on the live desk
        first = decide_core(
            gate_in, emitted[em_head:em_n], tier_limits, True, 0, _NO_FTMO, _NO_LIMITS, _NO_ORDER,
            (0.0, pos[:0], True, False),
        )  # fmt: skip
        if first[1] == 0:
            ev_code[k] = first[0]
            continue
        n_open = st_i[I_OPEN]
        balance = st_f[F_BALANCE]
        floating = 0.0
        used = 0.0
        same = 0
        for q in range(n_open):
            s = o_seq[q]
            rq = t_i[s, TI_PAIR]
            fill = t_f[s, TF_FILL]
            mark = gmark[rq, g] if gvalid[rq, g] else fill
            vol = t_f[s, TF_VOL]
            pos[q, P_SIGN], pos[q, P_ENTRY], pos[q, P_SL], pos[q, P_VOLUME] = t_i[s, TI_SIGN], fill, t_f[s, TF_SL], vol
            pos[q, P_CS], pos[q, P_MARK], pos[q, P_EXIT_BPS] = s_cs[rq], mark, exit_table[rq, sc]
            floating = floating + t_i[s, TI_SIGN] * (mark - fill) * vol * s_cs[rq]
            used = used + s_rate[rq] * abs(fill) * vol * s_cs[rq]
            same += rq == r
        equity = balance + floating
        c_day, c_dsb, c_eod = _refreshed(st_f, st_i, now, days)
        d_floor, t_floor, ftmo_floor = _floors(c_dsb, c_eod, rules)
        floor = max(d_floor, t_floor)
        order = (
            s_cs[r], s_min_lot[r], s_step[r], s_max_lot[r], s_rate[r], equity, equity - used, rt_table[r, sc],
            risk_pct, c_entry[c], c_sl[c], np.nan,
        )  # fmt: skip
        code, _need, vol, latched, _mult, _count, verdict, _w, _h, _pl, _sized, _price = decide_core(
            gate_in,
            emitted[em_head:em_n],
            tier_limits,
            True,
            4,
            (equity, floor, d_floor >= t_floor),
            (n_open, same, max_open, max_per_pair),
            order,
            (balance, pos[:n_open], True, n_open > 0),
        )
        policy_blocked = code in (_KILL_SWITCH, _RATE_LIMIT, _RATE_LIMIT_TIER) or (code == _HALTED and not latched)
        if not policy_blocked:  # the decision read the FTMO check: the refreshed ledger is stored
            st_i[I_STARTED], st_i[I_DAY], st_f[F_DSB], st_f[F_EOD] = 1, c_day, c_dsb, c_eod
            _note_check(st_i, counters, equity < floor, equity < ftmo_floor)
        if latched:
            st_i[I_HALTED_UNTIL] = later_of(next_day_start_ms(now), halted_until)
            counters[C_HALT_DAYS] += 1
        ev_code[k] = code
        if code != 0:
            continue
        # an order: its costs (ExecutionModel.sample's draw), fill and exit
        row = r * n_sess + c_fill_sess[c]
        if not known[row]:
            counters[C_ERROR_EVENT] = k
            break
        emitted[em_n, 0], emitted[em_n, 1] = now, tier
        em_n += 1
        spread = _interp_one(spread_q[row], uniforms[n_trades, 0])
        slip = _interp_one(slip_q[row], uniforms[n_trades, 1])
        pen = penalty[row]
        sign = c_sign[c]
        entry_fill = c_open_next[c] * (1.0 + sign * (spread / 2 + slip + pen) / 1e4)
        reason = x_reason[c]
        cs = s_cs[r]
        exit_fill, pnl = closed_trade_at(
            sign, entry_fill, x_price[c], exit_cost_bps_at(spread, slip, reason), vol, cs, fee_bps
        )
        risk_money = abs(c_entry[c] - c_sl[c]) * vol * cs
        worst_pnl = sign * (x_worst[c] - entry_fill) * vol * cs - fee_bps / 1e4 * entry_fill * vol * cs
        t = n_trades
        t_i[t, TI_ENTRY_MS], t_i[t, TI_PAIR], t_i[t, TI_BAR], t_i[t, TI_SIGN], t_i[t, TI_TIER] = (
            now,
            r,
            c_bar[c],
            sign,
            tier,
        )
        t_i[t, TI_EXIT_MS], t_i[t, TI_EXIT_BAR], t_i[t, TI_REASON] = x_at[c], x_bar[c], reason
        t_i[t, TI_SESSION], t_i[t, TI_REDUCED] = c_fill_sess[c], verdict == G_REDUCE
        t_f[t, TF_CONF], t_f[t, TF_VOL], t_f[t, TF_ENTRY], t_f[t, TF_SL], t_f[t, TF_TP] = (
            c_conf[c],
            vol,
            c_entry[c],
            c_sl[c],
            c_tp[c],
        )
        t_f[t, TF_FILL], t_f[t, TF_EXIT_FILL], t_f[t, TF_PNL] = entry_fill, exit_fill, pnl
        t_f[t, TF_R] = pnl / risk_money if risk_money > 0 else 0.0
        t_f[t, TF_EQUITY], t_f[t, TF_SPREAD], t_f[t, TF_SLIP], t_f[t, TF_PENALTY] = equity, spread, slip, pen
        t_f[t, TF_WORST] = min(worst_pnl, pnl)
        o_seq[st_i[I_OPEN]] = t
        st_i[I_OPEN] += 1
        n_trades += 1
    counters[C_TRADES] = n_trades
    if counters[C_ERROR_EVENT] >= 0:
        return float(st_f[F_BALANCE])
    # ---- the end: every trade settles; a run that ends below a floor ends in a breach episode
    _settle(INT_MAX, st_f, st_i, o_seq, t_i, t_f, loss_t, backoff_losses, backoff_window_ms, end_hours, days)
    if st_i[I_STARTED]:
        end = max(st_i[I_LAST_EXIT], ev_t[m - 1] if m > 0 else 0)
        _day, dsb, eod = rolled_day(st_i[I_DAY], st_f[F_DSB], st_f[F_EOD], _day_start(end, days), st_f[F_BALANCE])
        d_floor, t_floor, ftmo_floor = _floors(dsb, eod, rules)
        balance = st_f[F_BALANCE]
        _note_check(st_i, counters, balance < max(d_floor, t_floor), balance < ftmo_floor)
    return float(st_f[F_BALANCE])
