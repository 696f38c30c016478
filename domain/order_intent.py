"""An order intent: the order the runtime is about to send, recorded before it is sent.

The emit path is: guard -> record the intent (pending) -> send -> record the signal and its
risk-book row and mark the intent sent, in one unit of work. A crash or a storage failure between
the send and that commit leaves the intent pending; reconciliation at start (and before each cycle)
resolves it against the broker: a position or entry fill carrying its client order id -> the
position is tracked from the intent (its SL/TP, tier, time); nothing at the broker -> failed.
Nothing is ever sent twice: the send happens once, after the intent is durable.
"""

from __future__ import annotations

from typing import Literal

import attrs

from domain.risk_book import TradeRecord
from domain.signals import Direction, Mode, Tier, reward_risk
from domain.trading import OrderRequest

IntentStatus = Literal["pending", "sent", "failed"]
INTENT_STATUSES: tuple[str, ...] = ("pending", "sent", "failed")


@attrs.frozen
class OrderIntent:
    client_order_id: str
    pair: str
    direction: Direction
    volume: float
    sl: float
    tp: float | None
    entry_hint: float | None
    tier: Tier
    mode: Mode
    created_at_ms: int
    status: IntentStatus = "pending"
    detail: str = ""
    position_id: str = ""
    updated_at_ms: int | None = None

    @classmethod
    def of(cls, req: OrderRequest, tier: Tier, mode: Mode, now_ms: int) -> OrderIntent:
        return cls(
            req.client_order_id, req.pair, req.direction, req.volume, req.sl, req.tp, req.entry_hint, tier, mode, now_ms
        )

    def request(self) -> OrderRequest:
        return OrderRequest(
            self.client_order_id, self.pair, self.direction, self.volume, self.sl, self.tp, self.entry_hint
        )

    def tracked_record(self, entry_price: float, entry_time_ms: int, session: str = "") -> TradeRecord:
        """The risk-book row of this intent's position, filled at `entry_price` (tp defaults to 1 R)."""
        risk = abs(entry_price - self.sl)
        tp = self.tp if self.tp is not None else entry_price + self.direction.sign * risk
        rr = reward_risk(entry_price, tp, self.sl) if risk > 0 else 0.0
        return TradeRecord(
            self.client_order_id,
            self.pair,
            self.tier,
            entry_time_ms,
            entry_price,
            tp,
            self.sl,
            rr,
            mode=self.mode,
            session=session,
        )
