"""The only way an order reaches a Broker: kill switch, latched halt and the FTMO guard first.

Shared by the scan cycle, the operator's forced signal and the broker runtime. `RiskDesk` is the
mutable holder of the risk state those paths share (FTMO day state, policy state, thresholds).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property

import attrs

from domain import policy as pol
from domain.decision import FLOOR_BREACH_MARK as FLOOR_BREACH_MARK  # the runtime's alert throttle reads it
from domain.decision import breach_reason, decide_trade, latch_on_breach
from domain.execution_costs import UnknownCostCell, cost_session
from domain.ftmo import FtmoCheck, FtmoRules, FtmoState, check
from domain.guard import (
    DEFAULT_COST_ALLOWANCE,
    DEFAULT_FEE_BPS,
    CostEstimator,
    GuardDecision,
    exit_cost_bps,
    round_trip_cost_bps,
)
from domain.market import Session
from domain.order_intent import OrderIntent
from domain.policy import PolicyConfig
from domain.prague_time import day_start_ms
from domain.settings import PositionLimits
from domain.signals import Block, BlockReason, Direction, Mode, Tier, TierThresholds
from domain.trading import AccountState, Fill, OrderRequest, Position, SymbolSpec
from ports.broker import Broker
from ports.errors import BrokerError, StorageError
from ports.notifier import Notifier
from ports.runtime_state import RuntimeState
from ports.storage import OrderIntentRepository

log = logging.getLogger(__name__)


@attrs.define
class RiskDesk:
    """Risk state shared by every path that can emit or execute.

    `costs` (an execution-cost model), `fee_bps` (commission per side) and `latency_ms` (expected
    decision-to-order latency) give the round-trip cost the FTMO guard adds to every worst case: the
    model's WORST round trip (`worst_round_trip_cost_bps`), a bound no sampled fill exceeds.

    `ftmo` is the FTMO ledger (domain.ftmo.FtmoState), advanced by the clock on every cycle
    (`refresh_ftmo`), persisted and restored at start. Its `in_breach` is whether the last FTMO check
    found equity below a floor: the breach episode the backtest counts (`breach_episodes`) lasts from
    the check that first finds it below to the check that finds it back above, however many daily halts
    it re-latches on the way. `flatten_on_floor`: a cycle that finds equity below a buffered floor
    closes every position (FLATTEN_ON_FLOOR). `limits`: MAX_OPEN_POSITIONS / MAX_POSITIONS_PER_PAIR.
    """

    rules: FtmoRules
    policy_cfg: PolicyConfig
    runtime: RuntimeState
    risk_per_trade_pct: float = 0.5
    ftmo: FtmoState | None = None
    costs: CostEstimator = DEFAULT_COST_ALLOWANCE
    fee_bps: float = DEFAULT_FEE_BPS
    latency_ms: float = 0.0
    flatten_on_floor: bool = False
    limits: PositionLimits = attrs.field(factory=PositionLimits.unlimited)

    @property
    def in_breach(self) -> bool:
        return self.ftmo is not None and self.ftmo.in_breach

    def _cost(self, fn: Callable[[CostEstimator, str, Session, float, float], float], pair: str, now_ms: int) -> float:
        session = cost_session(now_ms)
        try:
            return fn(self.costs, pair, session, self.latency_ms, self.fee_bps)
        except UnknownCostCell:  # a pair the cost model has no profile for gets the default allowance
            log.warning("no execution-cost profile for %s; the guard uses the default allowance", pair)
            return fn(DEFAULT_COST_ALLOWANCE, pair, session, self.latency_ms, self.fee_bps)

    def round_trip_bps(self, pair: str, now_ms: int) -> float:
        """Worst round-trip cost of a new `pair` order at `now_ms` (bps of notional, commission included)."""
        return self._cost(round_trip_cost_bps, pair, now_ms)

    def exit_bps(self, pair: str, now_ms: int) -> float:
        """The most an open `pair` position may still cost (bps of notional): domain.guard.exit_cost_bps."""
        return self._cost(exit_cost_bps, pair, now_ms)

    @property
    def mode(self) -> Mode:
        return Mode(self.runtime.mode)

    @property
    def thresholds(self) -> TierThresholds:
        return self.runtime.thresholds

    @property
    def policy(self) -> pol.PolicyState:
        return self.runtime.policy

    def set_policy(self, state: pol.PolicyState) -> None:
        self.runtime = attrs.evolve(self.runtime, policy=state)

    def set_thresholds(self, th: TierThresholds) -> None:
        self.runtime = attrs.evolve(self.runtime, thresholds=th)


def advanced_ledger(desk: RiskDesk, broker: Broker, acc: AccountState, now_ms: int) -> FtmoState:
    """The desk's FTMO ledger as the clock leaves it at `now_ms` (started on first sight), not stored.
    Across a Prague midnight with the balance changed since the last look, the broker's deal times say
    on which side of midnight it changed (domain.ftmo.FtmoState.midnight_balance)."""
    led = desk.ftmo
    if led is None:
        return FtmoState.start(now_ms, acc.balance, acc.equity)
    times = None
    if day_start_ms(now_ms) > led.day_start_ms and led.last_balance not in (None, acc.balance):
        try:
            times = [f.at_ms for f in broker.fills(led.last_ms or 0)]
        except BrokerError:
            log.warning("no deal history from the broker: the day's start balance is the stricter candidate")
    return led.advance(now_ms, acc.balance, acc.equity, times)


def refresh_ftmo(
    desk: RiskDesk, broker: Broker, now_ms: int, notifier: Notifier | None = None, *, flatten: bool = False
) -> FtmoCheck:
    """Advance the FTMO ledger to `now_ms` (rolled at every Prague midnight with the balance at that
    midnight), check equity against both floors; an actual floor breach latches a halt and, with
    `flatten` and the desk's `flatten_on_floor`, closes every open position.

    The runtime calls it on every cycle, a candidate or not. Every latch is logged, the daily re-latches
    of a floor that stays crossed included; the operator is alerted once per breach episode (a new
    crossing), not once per day the episode lasts."""
    acc = broker.account()
    ledger = advanced_ledger(desk, broker, acc, now_ms)
    chk = check(desk.rules, ledger, acc.equity)
    new_episode = chk.breached and not ledger.in_breach
    desk.ftmo = ledger.with_breach(chk.breached)
    reason = breach_reason(chk)
    latched = latch_on_breach(desk.policy, chk, now_ms)
    if latched is not desk.policy:
        desk.set_policy(latched)
        log.warning(
            "guardrail breach, halted until next daily reset: %s%s",
            reason,
            "" if new_episode else " (the same breach episode: no new alert)",
        )
    closed = flatten_positions(broker, now_ms) if chk.breached and flatten and desk.flatten_on_floor else 0
    if closed:
        reason += f"; flattened {closed} position(s)"
    if new_episode and notifier is not None:
        _alert(notifier, "guardrail_breach", reason)
    return chk


def flatten_positions(broker: Broker, now_ms: int) -> int:
    """Close every open position (FLATTEN_ON_FLOOR); each failure is logged, the others still close."""
    n = 0
    for p in broker.positions():
        try:
            broker.close_position(p.position_id)
            n += 1
            log.warning("flattened %s %s %.4f lots: equity below a buffered floor", p.pair, p.direction.value, p.volume)
        except BrokerError:
            log.exception("could not flatten position %s (%s)", p.position_id, p.pair)
    return n


def ftmo_view(desk: RiskDesk, broker: Broker, now_ms: int) -> tuple[FtmoState, FtmoCheck]:
    """The ledger and the equity check as of now, for reading (/ftmo_status): nothing is stored,
    latched or alerted."""
    acc = broker.account()
    ledger = advanced_ledger(desk, broker, acc, now_ms)
    return ledger, check(desk.rules, ledger, acc.equity)


def _alert(notifier: Notifier, kind: str, text: str) -> None:
    try:
        notifier.send_alert(kind, text)
    except Exception:  # an alert failure must never unblock or crash the guarded path
        log.exception("could not send %s alert", kind)


@attrs.frozen
class PreTradeCheck:
    """Outcome of the guard for a proposed trade (no order sent)."""

    volume: float
    decision: GuardDecision | None
    block: Block | None
    risk_multiplier: float = 1.0


def pre_trade(
    desk: RiskDesk,
    broker: Broker,
    now_ms: int,
    pair: str,
    direction: Direction,
    entry: float,
    sl: float,
    tier: Tier,
    *,
    volume: float | None = None,
    notifier: Notifier | None = None,
    check_rate_limit: bool = True,
) -> PreTradeCheck:
    """Kill switch, halt, (rate limit), the FTMO refresh, position limits, sizing (risk budget capped
    by the free margin) and the FTMO guard for one proposed trade: domain.decision.decide_trade on the
    broker's account, read as the decision needs it. The guard may only reduce the sized volume."""
    book = _BrokerBook(desk, broker, now_ms, pair, notifier)
    d = decide_trade(
        desk.policy_cfg,
        desk.policy,
        tier,
        now_ms,
        book,
        pair=pair,
        entry=entry,
        sl=sl,
        risk_pct=desk.risk_per_trade_pct,
        limits=desk.limits,
        volume=volume,
        enforce_rate_limits=check_rate_limit,
    )
    # refresh_ftmo (the book's FTMO check) already latched a breach halt on the desk, through the
    # same domain.decision.latch_on_breach: d.policy is the desk's policy state
    if d.alert and notifier is not None:
        _alert(notifier, "kill_switch", f"blocked {pair} {direction.value}: kill switch is on")
    if d.block is not None:
        block = Block(pair, d.block, d.detail, now_ms, tier, None, desk.mode)
        return PreTradeCheck(0.0, d.guard, block, d.risk_multiplier)
    return PreTradeCheck(d.volume, d.guard, None, d.risk_multiplier)


class _BrokerBook:
    """The broker's account and market as domain.decision.decide_trade reads them (a TradeBook): each
    read from the broker on first use, so a step that blocks leaves the later ones unread. The FTMO
    check is `refresh_ftmo` (the ledger advanced and stored, a breach halt latched and alerted)."""

    def __init__(self, desk: RiskDesk, broker: Broker, now_ms: int, pair: str, notifier: Notifier | None) -> None:
        self.desk, self.broker, self.now_ms, self.pair, self.notifier = desk, broker, now_ms, pair, notifier

    @cached_property
    def ftmo(self) -> FtmoCheck:
        return refresh_ftmo(self.desk, self.broker, self.now_ms, self.notifier)

    @cached_property
    def positions(self) -> tuple[Position, ...]:
        return tuple(self.broker.positions())

    @cached_property
    def spec(self) -> SymbolSpec:
        return self.broker.symbol_info(self.pair)

    @cached_property
    def account(self) -> AccountState:
        return self.broker.account()

    @property
    def equity(self) -> float:
        return self.account.equity

    @property
    def free_margin(self) -> float:
        return self.account.free_margin

    @property
    def balance(self) -> float:
        return self.account.balance

    @cached_property
    def cost_bps(self) -> float:
        return self.desk.round_trip_bps(self.pair, self.now_ms)

    @cached_property
    def specs(self) -> dict[str, SymbolSpec]:
        specs = {p.pair: self.broker.symbol_info(p.pair) for p in self.positions}
        specs[self.pair] = self.spec
        return specs

    @cached_property
    def marks(self) -> dict[str, float]:
        marks: dict[str, float] = {}
        for p in self.positions:
            bid, ask = self.broker.quote(p.pair)
            marks[p.pair] = bid if p.direction is Direction.LONG else ask
        return marks

    @cached_property
    def exit_bps(self) -> dict[str, float]:
        return {p: self.desk.exit_bps(p, self.now_ms) for p in self.marks}


@attrs.frozen
class ExecutionResult:
    fill: Fill | None
    block: Block | None
    volume: float = 0.0


def execute_guarded(
    desk: RiskDesk,
    broker: Broker,
    now_ms: int,
    client_order_id: str,
    pair: str,
    direction: Direction,
    entry: float,
    sl: float,
    tp: float | None,
    tier: Tier,
    *,
    volume: float | None = None,
    notifier: Notifier | None = None,
    check_rate_limit: bool = False,
    intents: OrderIntentRepository | None = None,
) -> ExecutionResult:
    """Place an order through the Broker port only after the guard allows it (size may be reduced).

    With `intents`, the order is recorded there (pending) BEFORE it is sent: a storage failure then
    stops the order (StorageError propagates, nothing was sent); a broker refusal marks it failed.
    The caller marks it sent in the unit of work that records the signal and its risk-book row
    (services.scan_cycle); a crash before that leaves it pending for reconciliation
    (services.reconciliation.resolve_intents), which never sends it again."""
    pt = pre_trade(
        desk,
        broker,
        now_ms,
        pair,
        direction,
        entry,
        sl,
        tier,
        volume=volume,
        notifier=notifier,
        check_rate_limit=check_rate_limit,
    )
    if pt.block is not None:
        return ExecutionResult(None, pt.block)
    req = OrderRequest(client_order_id, pair, direction, pt.volume, sl, tp, entry_hint=entry)
    if intents is not None:
        intents.add(OrderIntent.of(req, tier, desk.mode, now_ms))
    try:
        fill = broker.place_order(req)
    except BrokerError as e:
        detail = f"{type(e).__name__}: {e}"
        if intents is not None:
            try:
                intents.mark_failed(client_order_id, now_ms, detail)
            except StorageError:  # stays pending; reconciliation finds no order and marks it failed
                log.exception("could not mark order intent %s failed", client_order_id)
        return ExecutionResult(None, Block(pair, BlockReason.BROKER_ERROR, detail, now_ms, tier, None, desk.mode))
    if desk.ftmo is not None:
        desk.ftmo = desk.ftmo.with_trade_opened(fill.at_ms)
    return ExecutionResult(fill, None, pt.volume)
