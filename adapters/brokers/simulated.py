"""A simulated Broker for backtests: fills from replayed bars and the empirical execution model.

- `quote(pair)` is the last closed bar's close on both sides (a mid quote); what crossing the
  spread costs is charged at the fill, from the cost model.
- `place_order` fills at the open of the bar after the last closed one, worsened by half the
  sampled spread, the sampled slippage and (above the latency SLA) the p90-slippage penalty: one
  `costs.sample` per order, in order, so it draws the same stream as the batch engine.
- Each position's exit (TP, SL with the stop-first rule, time exit at the horizon) is decided at
  placement with `domain.backtest.lifecycle.resolve_exits`, the batch engine's own function, and
  takes effect once the clock passes the bar that hit.
Money: P&L = sign x (exit fill - entry fill) x volume x contract size - commission per side.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from domain.backtest.lifecycle import ExitReason, closed_trade, exit_cost_bps_of, resolve_exits
from domain.execution_costs import CostModel, cost_sessions
from domain.market import Candles
from domain.signals import Direction
from domain.trading import AccountState, Fill, OrderRequest, Position, SymbolSpec
from ports.clock import Clock
from ports.errors import MarketClosed, OrderRejected, UnknownPosition, UnknownSymbol


class SimulatedBroker:
    def __init__(
        self,
        bars: Mapping[str, Candles],
        specs: Mapping[str, SymbolSpec],
        clock: Clock,
        costs: CostModel,
        rng: np.random.Generator,
        *,
        horizon_bars: int,
        initial_balance: float = 100_000.0,
        fee_bps: float = 0.0,
        latency_ms: float = 0.0,
        fine: Mapping[str, Candles] | None = None,
    ) -> None:
        self._bars = dict(bars)
        self._ends = {p: c.ts + c.timeframe.ms for p, c in self._bars.items()}
        self._specs = dict(specs)
        self._clock = clock
        self._costs = costs
        self._rng = rng
        self._horizon = horizon_bars
        self._fee = fee_bps
        self._latency = latency_ms
        self._fine = dict(fine or {})
        self._initial = initial_balance
        self._balance = initial_balance
        self._seq = 0
        # position_id -> (position, exit_at_ms, exit_fill, pnl, (spread_bps, slippage_bps) drawn at entry)
        self._open: dict[str, tuple[Position, int, float, float, tuple[float, float]]] = {}
        self._fills: list[Fill] = []
        self._by_coid: dict[str, Fill] = {}
        self._closed: list[tuple[int, str, float]] = []  # (exit_at, position_id, pnl), not yet taken

    # ------------------------------------------------------------------ helpers
    def _last_bar(self, pair: str) -> int:
        return int(np.searchsorted(self._ends[pair], self._clock.now_ms(), side="right")) - 1

    def _settle(self) -> None:
        now = self._clock.now_ms()
        done = sorted(((v[1], pid) for pid, v in self._open.items() if v[1] <= now), key=lambda x: (x[0], x[1]))
        for exit_at, pid in done:
            pos, _, exit_fill, pnl, _draw = self._open.pop(pid)
            self._balance += pnl
            self._closed.append((exit_at, pid, pnl))
            f = Fill(
                f"close-{pid}", pos.pair, exit_fill, exit_fill, pos.volume, exit_at, 0.0, pid, pos.direction.opposite
            )
            self._fills.append(f)

    def take_closed(self) -> list[tuple[int, str, float]]:
        """Trades closed since the last call, as (exit_at_ms, position_id, pnl), in exit order."""
        self._settle()
        out, self._closed = self._closed, []
        return out

    def _mark(self, pair: str) -> float:
        k = self._last_bar(pair)
        if k < 0:
            raise MarketClosed(f"no closed bar of {pair} yet")
        return float(self._bars[pair].close[k])

    # ------------------------------------------------------------------ the Broker port
    def account(self) -> AccountState:
        self._settle()
        floating = 0.0
        opened = [v[0] for v in sorted(self._open.values(), key=lambda v: (v[0].opened_at_ms, v[0].position_id))]
        for pos in opened:
            floating += pos.pnl_at(self._mark(pos.pair), self._specs[pos.pair].contract_size)
        # margin held at the entry fill, summed in opening order as the batch engine sums it
        margin = sum(self._specs[p.pair].margin_for(p.volume, p.entry) for p in opened)
        return AccountState(self._balance, self._balance + floating, margin, initial_balance=self._initial)

    def positions(self) -> list[Position]:
        self._settle()
        return sorted((v[0] for v in self._open.values()), key=lambda p: (p.opened_at_ms, p.position_id))

    def symbol_info(self, pair: str) -> SymbolSpec:
        try:
            return self._specs[pair]
        except KeyError:
            raise UnknownSymbol(f"unknown symbol {pair}; served: {', '.join(sorted(self._specs))}") from None

    def quote(self, pair: str) -> tuple[float, float]:
        self.symbol_info(pair)
        m = self._mark(pair)
        return m, m

    def place_order(self, req: OrderRequest) -> Fill:
        if req.client_order_id in self._by_coid:
            return self._by_coid[req.client_order_id]
        spec = self.symbol_info(req.pair)
        bars = self._bars[req.pair]
        i = self._last_bar(req.pair)
        if i < 0 or i + 1 >= len(bars):
            raise MarketClosed(f"no next bar of {req.pair} to fill on")
        sign = req.direction.sign
        if req.tp is None or not (sign * (req.tp - bars.close[i]) > 0 and sign * (bars.close[i] - req.sl) > 0):
            raise OrderRejected(f"order {req.client_order_id}: stops on the wrong side or no TP")
        now = self._clock.now_ms()
        session = cost_sessions(bars.ts[i + 1 : i + 2])[0]
        draw = self._costs.sample(req.pair, session, self._rng, self._latency)
        ex = resolve_exits(
            bars,
            np.array([i + 1], dtype=np.int64),
            np.array([sign], dtype=np.int64),
            np.array([req.sl]),
            np.array([req.tp]),
            self._horizon,
            self._fine.get(req.pair),
        )
        entry_fill = float(bars.open[i + 1]) * (1.0 + sign * draw.one_way_bps / 1e4)
        reason = int(ex.reason[0])
        cost = exit_cost_bps_of(draw.spread_bps, draw.slippage_bps, reason)
        exit_fill, pnl = closed_trade(
            sign, entry_fill, float(ex.price[0]), cost, req.volume, spec.contract_size, self._fee
        )
        pid = f"bt-{self._seq:09d}"
        self._seq += 1
        pos = Position(pid, req.pair, req.direction, req.volume, entry_fill, req.sl, req.tp, now, req.client_order_id)
        self._open[pid] = (pos, int(ex.at_ms[0]), exit_fill, pnl, (draw.spread_bps, draw.slippage_bps))
        fill = Fill(
            req.client_order_id,
            req.pair,
            float(bars.close[i]),
            entry_fill,
            req.volume,
            now,
            self._latency,
            pid,
            req.direction,
        )
        self._fills.append(fill)
        self._by_coid[req.client_order_id] = fill
        return fill

    def close_position(self, position_id: str) -> Fill:
        self._settle()
        if position_id not in self._open:
            raise UnknownPosition(f"no open position {position_id}")
        pos, _, _, _, (spread, slip) = self._open.pop(position_id)
        # a market close at the last close: half the spread and the slippage drawn at entry, and the
        # commission (the batch engine's FLATTEN exit, domain.backtest.kernel.run_stage2)
        px = self._mark(pos.pair)
        cs = self._specs[pos.pair].contract_size
        cost = exit_cost_bps_of(spread, slip, ExitReason.FLATTEN)
        exit_fill, pnl = closed_trade(pos.direction.sign, pos.entry, px, cost, pos.volume, cs, self._fee)
        self._balance += pnl
        now = self._clock.now_ms()
        self._closed.append((now, position_id, pnl))
        f = Fill(
            f"close-{position_id}", pos.pair, px, exit_fill, pos.volume, now, 0.0, position_id, pos.direction.opposite
        )
        self._fills.append(f)
        return f

    def modify_position(self, position_id: str, sl: float | None, tp: float | None) -> None:
        # Exits are decided at placement from the stops given then; moving them is not simulated.
        if position_id not in self._open:
            raise UnknownPosition(f"no open position {position_id}")
        raise OrderRejected("the simulated broker does not move stops after placement")

    def fills(self, since_ms: int = 0) -> list[Fill]:
        self._settle()
        return [f for f in self._fills if f.at_ms >= since_ms]


__all__ = ["Direction", "SimulatedBroker"]
