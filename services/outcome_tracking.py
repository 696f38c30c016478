"""Follow every emitted signal until its TP or SL is hit, or it expires at the horizon, from the
market data, and resolve it in the risk book (W/L, exit price, R realised, time to TP/SL).

The same code runs in dry-run and live: it reads closed bars only, so a replay cannot peek, and it
starts with the first bar that opens at or after the signal's creation. The bar rule (both touched ->
stop; a bar opening beyond the stop exits at its open; the target fills at its price) lives in
domain.trade_resolution, shared with the paper broker so both resolve a trade the same way.
Each outcome also feeds the pattern statistics and, for losses, the loss backoff.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Sequence

import attrs
import numpy as np

from domain import policy as pol
from domain.market import Candles, Timeframe, session_end_ms
from domain.risk_book import TradeRecord
from domain.signals import Mode
from domain.trade_resolution import first_bar_open_ms as first_bar_open_ms  # re-exported (public before)
from domain.trade_resolution import first_exit
from ports.clock import Clock
from ports.market_data import MarketData
from ports.storage import PatternRepository, RiskBookRepository

log = logging.getLogger(__name__)


@attrs.frozen
class OutcomeSettings:
    timeframe: Timeframe = Timeframe.M5
    horizon_bars: int = 48  # 4 hours of 5m bars, then the trade is closed at the bar's close


@attrs.frozen
class Outcome:
    record: TradeRecord  # the closed record
    how: str  # "tp" | "sl" | "expiry"


def pattern_key(rec: TradeRecord) -> tuple[str, str]:
    """(name, stable hash) of the pattern a trade belongs to: pair x tier x session x direction."""
    side = "long" if rec.direction_sign > 0 else "short"
    name = f"{rec.pair}|{rec.tier.name}|{rec.session or 'none'}|{side}"
    return name, hashlib.sha256(name.encode()).hexdigest()[:16]


def resolve(rec: TradeRecord, bars: Candles, horizon_bars: int) -> Outcome | None:
    """Resolve one open record against closed `bars` of its pair, or None if still open.

    Bars considered start with the first one opening at or after the entry time (never one whose range
    began before the entry); exits are stamped at the close of the bar that hit (the earliest moment a
    bar-based tracker can know it).
    """
    period = bars.timeframe.ms
    first_open = first_bar_open_ms(rec.entry_time_ms, period)
    lo = int(np.searchsorted(bars.ts, first_open, side="left"))
    ts = bars.ts[lo : lo + horizon_bars]
    if ts.shape[0] == 0:
        return None
    window = slice(lo, lo + horizon_bars)
    hit = first_exit(
        rec.direction_sign, rec.sl_price, rec.tp_price, bars.open[window], bars.high[window], bars.low[window]
    )
    if hit is not None:
        return Outcome(rec.close(int(ts[hit.index]) + period, hit.price), hit.how)
    expiry_ms = first_open + horizon_bars * period
    if int(ts[-1]) + period >= expiry_ms:
        j = ts.shape[0] - 1
        return Outcome(rec.close(int(ts[j]) + period, float(bars.close[lo + j])), "expiry")
    return None


@attrs.define
class OutcomeTracker:
    risk_book: RiskBookRepository
    patterns: PatternRepository
    market: MarketData
    clock: Clock
    mode: Mode
    settings: OutcomeSettings = attrs.field(factory=OutcomeSettings)

    def run_once(self) -> list[Outcome]:
        """Resolve what can be resolved now; returns the outcomes, oldest entry first."""
        now = self.clock.now_ms()
        open_recs = self.risk_book.open_records(self.mode)
        by_pair: dict[str, list[TradeRecord]] = defaultdict(list)
        for r in open_recs:
            by_pair[r.pair].append(r)
        tf = self.settings.timeframe
        out: list[Outcome] = []
        for pair, recs in by_pair.items():
            start = min(first_bar_open_ms(r.entry_time_ms, tf.ms) for r in recs)
            bars = self.market.candles(pair, tf, start, now).closed_before(now)
            for r in recs:
                o = resolve(r, bars, self.settings.horizon_bars)
                if o is None:
                    continue
                self.risk_book.update(o.record)
                name, h = pattern_key(o.record)
                self.patterns.record_outcome(name, h, o.record.result == "W")
                out.append(o)
        out.sort(key=lambda o: (o.record.entry_time_ms, o.record.signal_id))
        return out


def apply_losses(cfg: pol.PolicyConfig, state: pol.PolicyState, outcomes: Sequence[Outcome]) -> pol.PolicyState:
    """Feed losing outcomes to the loss backoff, in exit order."""
    for o in sorted(outcomes, key=lambda o: o.record.exit_time_ms or 0):
        if o.record.result == "L" and o.record.exit_time_ms is not None:
            state = pol.record_loss(cfg, state, o.record.exit_time_ms, session_end_ms(o.record.exit_time_ms))
    return state
