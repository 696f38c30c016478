"""Start-up reconciliation: the broker's positions and fills against the risk book.

After a crash or restart the runtime's memory is gone; the broker and the risk book are what is
left, and they may disagree: an order sent but its fill never recorded, a stop hit while the
runtime was down, a position opened by hand. `reconcile` lists every difference and resolves the
ones that have a safe resolution, never placing an order twice: an order whose fate is unknown is
re-sent with its ORIGINAL client order id, which every Broker treats idempotently (it returns the
existing fill if the first send arrived).

Resolutions:
- matched: an open record with its position at the broker. Nothing to do.
- closed_while_down: an open record whose position is gone and whose closing fill exists: the record
  is closed at that fill (exit time and price, R).
- resubmitted: an open record with no fill at all and its OrderRequest in `pending`, when
  `resubmit=True`: sent again with the same client id (idempotent).
- unfilled: an open record with no fill and nothing to resubmit: reported; the record stays open so
  an operator (or the outcome tracker) decides.
- adopted: a broker position carrying a client id the risk book does not know (the crash fell
  between send and record): a record is added from the position.
- foreign_position: a position without a client id (opened by hand or by another tool): reported,
  never touched.
- book_says_closed: the broker holds a position whose record is closed: reported for the operator.

Order intents (`resolve_intents`, run first): every intent left pending is resolved against the
broker: a position or fill carrying its client id is tracked (intent_tracked), none means the
order never arrived (intent_failed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

import attrs

from domain.risk_book import TradeRecord
from domain.signals import Direction, Mode, Tier
from domain.trading import Fill, OrderRequest, Position
from ports.broker import Broker
from ports.storage import OrderIntentRepository, RiskBookRepository, StorageUnitOfWork

_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


def order_tag(client_order_id: str, max_len: int = 31) -> str:
    """The client order id as the broker stores it: unchanged when it fits `max_len` plain characters
    (MT5's order comment holds 31, MetaAPI's clientId 26), else a stable 'h' + hash prefix."""
    if len(client_order_id) <= max_len and set(client_order_id) <= _TAG_CHARS:
        return client_order_id
    return "h" + hashlib.sha256(client_order_id.encode()).hexdigest()[: max_len - 1]


def _keys(client_order_id: str) -> set[str]:
    return {client_order_id, order_tag(client_order_id, 31), order_tag(client_order_id, 26)}


@attrs.frozen
class Finding:
    kind: str
    client_order_id: str
    position_id: str = ""
    detail: str = ""


@attrs.frozen
class ReconciliationReport:
    findings: tuple[Finding, ...]

    def of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def clean(self) -> bool:
        """True when broker and book agreed already (only `matched` findings)."""
        return all(f.kind == "matched" for f in self.findings)

    def lines(self) -> list[str]:
        return [f"{f.kind}: {f.client_order_id or '-'} {f.position_id} {f.detail}".rstrip() for f in self.findings]


def _direction_of(rec: TradeRecord) -> Direction:
    return Direction.LONG if rec.direction_sign > 0 else Direction.SHORT


def reconcile(
    broker: Broker, book: RiskBookRepository, mode: Mode, pending: Iterable[OrderRequest] = (), resubmit: bool = False
) -> ReconciliationReport:
    """Compare and resolve (see the module docstring). Safe to run any number of times."""
    positions = broker.positions()
    open_records = book.open_records(mode)
    since = min((r.entry_time_ms for r in open_records), default=0)
    fills = broker.fills(max(0, since - 60_000))
    by_key: dict[str, Position] = {}
    for p in positions:
        if p.client_order_id:
            by_key[p.client_order_id] = p
    pending_by_id = {o.client_order_id: o for o in pending}
    findings: list[Finding] = []
    claimed: set[str] = set()

    for rec in open_records:
        keys = _keys(rec.signal_id)
        pos = next((by_key[k] for k in keys if k in by_key), None)
        if pos is not None:
            claimed.add(pos.position_id)
            findings.append(Finding("matched", rec.signal_id, pos.position_id))
            continue
        direction = _direction_of(rec)
        mine = [f for f in fills if f.client_order_id in keys]
        exit_fill = next((f for f in reversed(mine) if f.direction is direction.opposite), None)
        if exit_fill is not None:
            book.update(rec.close(exit_fill.at_ms, exit_fill.fill_price))
            findings.append(
                Finding(
                    "closed_while_down",
                    rec.signal_id,
                    exit_fill.position_id,
                    f"closed at {exit_fill.fill_price} ({exit_fill.at_ms})",
                )
            )
            continue
        if any(f.direction is direction for f in mine):
            findings.append(Finding("unfilled", rec.signal_id, "", "entry fill found but neither position nor exit"))
            continue
        req = pending_by_id.get(rec.signal_id)
        if resubmit and req is not None:
            fill = broker.place_order(req)
            claimed.add(fill.position_id)
            findings.append(
                Finding("resubmitted", rec.signal_id, fill.position_id, f"same client id; filled at {fill.fill_price}")
            )
            continue
        findings.append(Finding("unfilled", rec.signal_id, "", "no fill at the broker"))

    for p in positions:
        if p.position_id in claimed:
            continue
        if not p.client_order_id:
            findings.append(Finding("foreign_position", "", p.position_id, f"{p.pair} {p.direction.value} {p.volume}"))
            continue
        known = book.get(p.client_order_id)
        if known is not None and not known.is_open:
            findings.append(
                Finding(
                    "book_says_closed",
                    p.client_order_id,
                    p.position_id,
                    "the risk book closed it, the broker still holds it",
                )
            )
            continue
        if known is not None:  # open record in another mode
            findings.append(Finding("matched", p.client_order_id, p.position_id, f"mode {known.mode}"))
            continue
        risk = abs(p.entry - p.sl)
        tp = p.tp if p.tp is not None else p.entry + p.direction.sign * risk
        book.add(
            TradeRecord(
                signal_id=p.client_order_id,
                pair=p.pair,
                tier=Tier.NONE,
                entry_time_ms=p.opened_at_ms,
                entry_price=p.entry,
                tp_price=tp,
                sl_price=p.sl,
                rr_expected=abs(tp - p.entry) / risk if risk else 0.0,
                mode=mode,
            )
        )
        findings.append(Finding("adopted", p.client_order_id, p.position_id, "added to the risk book from the broker"))
    return ReconciliationReport(tuple(findings))


def resolve_intents(
    broker: Broker,
    book: RiskBookRepository,
    intents: OrderIntentRepository,
    mode: Mode,
    now_ms: int,
    unit_of_work: Callable[[], StorageUnitOfWork] | None = None,
) -> list[Finding]:
    """Resolve every order intent of `mode` left pending (a crash or a storage failure between the send
    and the commit that records its signal) against the broker. Never sends anything.

    - intent_tracked: a position (or an entry fill) carries its client id: the risk-book row is
      added from the intent (its SL/TP and tier, the broker's entry price and time) and the intent
      marked sent, in one unit of work. A position already closed at the broker is then closed by
      `reconcile` (closed_while_down).
    - intent_failed: nothing at the broker carries its client id: the order never arrived.
    - intent_sent: the risk book holds its row already (a store without units of work).
    """
    pending = intents.pending(mode)
    if not pending:
        return []
    positions = broker.positions()
    fills = broker.fills(max(0, min(i.created_at_ms for i in pending) - 60_000))
    findings: list[Finding] = []
    for it in pending:
        cid = it.client_order_id
        if book.get(cid) is not None:
            intents.mark_sent(cid, now_ms)
            findings.append(Finding("intent_sent", cid, "", "risk book already tracks it"))
            continue
        keys = _keys(cid)
        pos = next((p for p in positions if p.client_order_id in keys), None)
        entry = entry_fill_of(fills, cid)
        if pos is not None:
            price, at_ms, position_id = pos.entry, pos.opened_at_ms, pos.position_id
        elif entry is not None:
            price, at_ms, position_id = entry.fill_price, entry.at_ms, entry.position_id
        else:
            intents.mark_failed(cid, now_ms, "not found at the broker after a restart")
            findings.append(Finding("intent_failed", cid, "", "no position or fill at the broker"))
            continue
        record = it.tracked_record(price, at_ms)
        if unit_of_work is None:
            book.add(record)
            intents.mark_sent(cid, now_ms, position_id)
        else:
            with unit_of_work() as uow:
                uow.risk_book.add(record)
                uow.order_intents.mark_sent(cid, now_ms, position_id)
                uow.commit()
        findings.append(
            Finding(
                "intent_tracked",
                cid,
                position_id,
                f"{it.pair} {it.direction.value} {it.volume} at {price}"
                + ("" if pos is not None else " (closed at the broker since)"),
            )
        )
    return findings


def entry_fill_of(fills: Iterable[Fill], client_order_id: str) -> Fill | None:
    """The first fill carrying this client id (the entry), if any."""
    keys = _keys(client_order_id)
    return next((f for f in fills if f.client_order_id in keys), None)
