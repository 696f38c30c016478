"""OperatorCommands over the ports: what Telegram and the CLI drive."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from domain import policy as pol
from domain.confidence import ConfidenceResult
from domain.ftmo import ChallengeKind, best_day_share, progress
from domain.market import MS_PER_DAY
from domain.prague_time import prague_day
from domain.risk_book import TradeRecord
from domain.risk_stats import closed_in_window, group_stats, summarise
from domain.signals import Block, BlockReason, Direction, Signal, Tier
from ports.errors import BrokerError
from ports.operator import (
    RECENT_DAYS,
    CheckReport,
    DailyRow,
    FtmoStatusReport,
    PositionReport,
    RetrainRequest,
    StatsReport,
    StatsRow,
)
from services.execution import ftmo_view
from services.scan_cycle import ScanCycle


@attrs.define
class OperatorService:
    """Implements `ports.operator.OperatorCommands` on top of a scan cycle's ports and risk desk."""

    cycle: ScanCycle
    retrain_requests: list[RetrainRequest] = attrs.field(factory=list)

    def _thresholds(self) -> tuple[tuple[str, float], ...]:
        th = self.cycle.desk.thresholds
        return (("LOW", th.low), ("MEDIUM", th.medium), ("HIGH", th.high))

    def check(self) -> CheckReport:
        desk = self.cycle.desk
        now = self.cycle.clock.now_ms()
        try:
            n_pos = len(self.cycle.broker.positions())
            ok, detail = True, ""
        except BrokerError as e:
            n_pos, ok, detail = 0, False, f"broker: {type(e).__name__}: {e}"
        return CheckReport(
            desk.mode.value,
            now,
            desk.policy.kill_switch,
            desk.policy.is_halted(now),
            desk.policy.halted_reason,
            ok,
            n_pos,
            self._thresholds(),
            desk.runtime.last_cycle_ms,
            detail,
        )

    def stats(self, days: int = 7) -> StatsReport:
        desk = self.cycle.desk
        now = self.cycle.clock.now_ms()
        recs = closed_in_window(self.cycle.risk_book.records(mode=desk.mode), now, days, desk.mode)
        s = summarise(recs)
        rows = tuple(
            StatsRow(by, g.key, g.trades, g.wins, g.win_rate, g.avg_r, g.total_r)
            for by in ("tier", "session", "pair", "model_version")
            for g in group_stats(recs, by)
        )
        ftmo = None
        if desk.ftmo is not None:  # the FTMO ledger's figures as of its last cycle (a read)
            pr = progress(desk.rules, desk.ftmo, desk.ftmo.last_balance or desk.rules.initial_balance)
            ftmo = (pr.trading_days, pr.min_trading_days, pr.best_day_ok)
        return StatsReport(
            days, desk.mode.value, s.trades, s.wins, s.win_rate, s.total_r, rows, *(ftmo or (None, None, None))
        )

    def ftmo_status(self) -> FtmoStatusReport:
        desk = self.cycle.desk
        now = self.cycle.clock.now_ms()
        # a read: the ledger as the clock leaves it now, nothing stored, latched or alerted
        st, chk = ftmo_view(desk, self.cycle.broker, now)
        acc = self.cycle.broker.account()
        pr = progress(desk.rules, st, acc.balance)
        return FtmoStatusReport(
            acc.balance,
            acc.equity,
            desk.rules.initial_balance,
            st.day_start_balance,
            chk.daily_floor,
            chk.total_floor,
            chk.daily_headroom,
            chk.total_headroom,
            pr.profit,
            pr.target,
            pr.trading_days,
            pr.min_trading_days,
            desk.policy.is_halted(now),
            desk.policy.halted_reason,
            best_day_ok=pr.best_day_ok,
            best_day_share=best_day_share(st.day_profits),
            best_day_applies=desk.rules.kind is ChallengeKind.ONE_STEP,
        )

    def set_threshold(self, tier: Tier, value: float) -> tuple[tuple[str, float], ...]:
        desk = self.cycle.desk
        desk.set_thresholds(desk.thresholds.with_threshold(Tier.parse(tier), value))
        return self._thresholds()

    def kill_switch(self, on: bool) -> bool:
        desk = self.cycle.desk
        desk.set_policy(pol.set_kill_switch(desk.policy, on))
        self.cycle.bus.publish("alerts", {"kind": "kill_switch", "on": bool(on), "at_ms": self.cycle.clock.now_ms()})
        return desk.policy.kill_switch

    def request_retrain(self, reason: str = "") -> RetrainRequest:
        now = self.cycle.clock.now_ms()
        req = RetrainRequest(f"retrain-{now}-{len(self.retrain_requests) + 1}", now, reason)
        self.retrain_requests.append(req)
        self.cycle.bus.publish(
            "metrics", {"kind": "retrain_request", "request_id": req.request_id, "reason": reason, "at_ms": now}
        )
        return req

    def force_signal(self, pair: str, direction: Direction | None = None) -> Signal | Block:
        """Emit for `pair` now through the full policy and guard, bypassing only the tiering."""
        cy = self.cycle
        now = cy.clock.now_ms()
        tf = cy.settings.timeframe
        c = cy.market.candles(pair, tf, now - cy.settings.lookback_bars * tf.ms, now).closed_before(now)
        if len(c) == 0:
            b = Block(pair, BlockReason.NO_DATA, "no closed bars", now, mode=cy.desk.mode)
            cy._block(b, [])
            return b
        d = direction or Direction.LONG
        res = ConfidenceResult(0.5, d, 0.0, ("operator:forced",))
        out = cy.emit(pair, c, res, Tier.LOW, (), now, extra_reasons=(f"forced:{d.value}",))
        if isinstance(out, Block):
            cy._block(out, [])
        return out

    # --- reads for /status, /daily, /signals and the dashboard ----------------------------------------

    def positions(self) -> tuple[PositionReport, ...]:
        """Open positions with floating P&L at the broker's current mid (None without a quote)."""
        out = []
        for p in self.cycle.broker.positions():
            price = pnl = None
            try:
                bid, ask = self.cycle.broker.quote(p.pair)
                price = (bid + ask) / 2
                size = self.cycle.broker.symbol_info(p.pair).contract_size
                pnl = p.direction.sign * (price - p.entry) * p.volume * size
            except BrokerError:
                pass
            out.append(
                PositionReport(
                    p.position_id, p.pair, p.direction.value, p.volume, p.entry, p.sl, p.tp, p.opened_at_ms, price, pnl
                )
            )
        return tuple(out)

    def daily(self, days: int = 7) -> tuple[DailyRow, ...]:
        """Closed trades per Prague day (FTMO's trading day) over the last `days` days, newest first."""
        desk = self.cycle.desk
        now = self.cycle.clock.now_ms()
        recs = closed_in_window(self.cycle.risk_book.records(mode=desk.mode), now, days, desk.mode)
        by_day: dict[int, list[TradeRecord]] = {}
        for r in recs:
            by_day.setdefault(prague_day(r.exit_time_ms or 0), []).append(r)
        today = prague_day(now)
        rows = []
        for d in range(today, today - days, -1):
            s = summarise(by_day.get(d, []))
            label = datetime.fromtimestamp(d * MS_PER_DAY / 1000, UTC).strftime("%Y-%m-%d")
            rows.append(DailyRow(label, s.trades, s.wins, s.total_r))
        return tuple(rows)

    def recent_signals(self, n: int = 5) -> tuple[Signal, ...]:
        since = self.cycle.clock.now_ms() - RECENT_DAYS * MS_PER_DAY
        mine = [s for s in self.cycle.signal_log.signals(since_ms=since) if s.mode is self.cycle.desk.mode]
        return tuple(reversed(mine[-n:])) if n > 0 else ()

    def recent_blocks(self, n: int = 10) -> tuple[Block, ...]:
        since = self.cycle.clock.now_ms() - RECENT_DAYS * MS_PER_DAY
        mine = [b for b in self.cycle.signal_log.blocks(since_ms=since) if b.mode is self.cycle.desk.mode]
        return tuple(reversed(mine[-n:])) if n > 0 else ()
