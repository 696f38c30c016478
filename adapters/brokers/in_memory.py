"""An in-memory broker (BROKER=mock): fills at the quote, tracks positions, balance and equity exactly.

A real adapter of the Broker port for demos and dry runs that need no account: prices are set by its
owner (`set_quote`), `set_balance` and `fail_next` (the next order raises that BrokerError) are its
controls. Live mode refuses it. `adapters.mocks.broker.MockBroker` is this class under its test name.
"""

from __future__ import annotations

from collections.abc import Iterable

from attrs import evolve

from domain.signals import Direction
from domain.trading import AccountState, Fill, OrderRequest, Position, SymbolSpec
from ports.clock import Clock
from ports.errors import BrokerError, OrderRejected, UnknownPosition, UnknownSymbol


class InMemoryBroker:
    def __init__(
        self,
        specs: Iterable[SymbolSpec],
        clock: Clock,
        balance: float = 100_000.0,
        initial_balance: float | None = None,
        currency: str = "USD",
    ) -> None:
        self._specs = {s.pair: s for s in specs}
        self._clock = clock
        self._balance = float(balance)
        self._initial = float(initial_balance if initial_balance is not None else balance)
        self._currency = currency
        self._quotes: dict[str, tuple[float, float]] = {}
        self._positions: dict[str, Position] = {}
        self._by_client: dict[str, Fill] = {}
        self._fills: list[Fill] = []
        self._seq = 0
        self.fail_next: BrokerError | None = None
        self.orders_sent = 0

    # --- test controls
    def set_quote(self, pair: str, bid: float, ask: float | None = None) -> None:
        ask = bid if ask is None else ask
        if bid > ask:
            raise ValueError("bid must not exceed ask")
        self._quotes[pair] = (float(bid), float(ask))

    def set_balance(self, balance: float) -> None:
        self._balance = float(balance)

    # --- port
    def symbol_info(self, pair: str) -> SymbolSpec:
        try:
            return self._specs[pair]
        except KeyError:
            raise UnknownSymbol(f"broker does not trade {pair!r}; it trades {', '.join(sorted(self._specs))}") from None

    def quote(self, pair: str) -> tuple[float, float]:
        self.symbol_info(pair)
        if pair not in self._quotes:
            raise OrderRejected(f"no price for {pair}")
        return self._quotes[pair]

    def _mark(self, p: Position) -> float:
        bid, ask = self.quote(p.pair)
        return bid if p.direction is Direction.LONG else ask  # the price it would close at

    def account(self) -> AccountState:
        floating = sum(p.pnl_at(self._mark(p), self._specs[p.pair].contract_size) for p in self._positions.values())
        # margin held at the open price, as MT5 and the paper broker hold it
        margin = sum(self._specs[p.pair].margin_for(p.volume, p.entry) for p in self.positions())
        return AccountState(self._balance, self._balance + floating, margin, self._currency, self._initial)

    def positions(self) -> list[Position]:
        return sorted(self._positions.values(), key=lambda p: (p.opened_at_ms, p.position_id))

    def place_order(self, req: OrderRequest) -> Fill:
        if req.client_order_id in self._by_client:
            return self._by_client[req.client_order_id]
        if self.fail_next is not None:
            err, self.fail_next = self.fail_next, None
            raise err
        spec = self.symbol_info(req.pair)
        bid, ask = self.quote(req.pair)
        price = ask if req.direction is Direction.LONG else bid
        s = req.direction.sign
        if not s * (price - req.sl) > 0 or (req.tp is not None and not s * (req.tp - price) > 0):
            raise OrderRejected(f"invalid stops for {req.direction.value} at {price}: sl={req.sl} tp={req.tp}")
        vol = spec.floor_volume(req.volume)
        if vol <= 0:
            raise OrderRejected(f"volume {req.volume} below the minimum lot {spec.min_lot}")
        self._seq += 1
        self.orders_sent += 1
        now = self._clock.now_ms()
        pid = f"mock-{self._seq}"
        ref = req.entry_hint if req.entry_hint is not None else price
        self._positions[pid] = Position(
            pid, req.pair, req.direction, vol, price, req.sl, req.tp, now, req.client_order_id
        )
        fill = Fill(req.client_order_id, req.pair, ref, price, vol, now, 0.0, pid, req.direction)
        self._by_client[req.client_order_id] = fill
        self._fills.append(fill)
        return fill

    def close_position(self, position_id: str) -> Fill:
        p = self._positions.pop(position_id, None)
        if p is None:
            raise UnknownPosition(f"no open position {position_id}")
        price = self._mark(p)
        self._balance += p.pnl_at(price, self._specs[p.pair].contract_size)
        fill = Fill(
            f"close-{position_id}",
            p.pair,
            price,
            price,
            p.volume,
            self._clock.now_ms(),
            0.0,
            position_id,
            p.direction.opposite,
        )
        self._fills.append(fill)
        return fill

    def modify_position(self, position_id: str, sl: float | None, tp: float | None) -> None:
        p = self._positions.get(position_id)
        if p is None:
            raise UnknownPosition(f"no open position {position_id}")
        price = self._mark(p)
        s = p.direction.sign
        new_sl = p.sl if sl is None else sl
        if not s * (price - new_sl) > 0 or (tp is not None and not s * (tp - price) > 0):
            raise OrderRejected(f"invalid stops sl={new_sl} tp={tp} at {price}")
        self._positions[position_id] = evolve(p, sl=new_sl, tp=p.tp if tp is None else tp)

    def fills(self, since_ms: int = 0) -> list[Fill]:
        return [f for f in self._fills if f.at_ms >= since_ms]
