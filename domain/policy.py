"""Runtime policy: kill switch, sliding-window rate limits, loss backoff and the latched halt.

State is an immutable value; every function returns a new one, so the live runtime and the
backtest share the exact same rules.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from domain.market import MS_PER_MINUTE
from domain.signals import BlockReason, Tier


def _tier_limits(value: Mapping[Tier, int] | tuple[tuple[Tier, int], ...]) -> tuple[tuple[Tier, int], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((Tier(t), int(n)) for t, n in items))


@attrs.frozen
class PolicyConfig:
    """`max_per_hour` caps all signals in any 60-minute window; `max_per_hour_by_tier` caps a tier."""

    max_per_hour: int = 10
    max_per_hour_by_tier: tuple[tuple[Tier, int], ...] = attrs.field(default=((Tier.HIGH, 5),), converter=_tier_limits)
    window_ms: int = 60 * MS_PER_MINUTE
    backoff_losses: int = 2
    backoff_window_ms: int = 60 * MS_PER_MINUTE
    backoff_risk_reduction_pct: float = 50.0

    def tier_limit(self, tier: Tier) -> int | None:
        return dict(self.max_per_hour_by_tier).get(tier)


@attrs.frozen
class PolicyDecision:
    allowed: bool
    reason: BlockReason | None = None
    detail: str = ""
    risk_multiplier: float = 1.0
    alert: bool = False  # the attempt itself must be reported (kill switch on)


@attrs.frozen
class PolicyState:
    kill_switch: bool = False
    emitted: tuple[tuple[int, Tier], ...] = ()  # (at_ms, tier), ascending, pruned to one window
    losses: tuple[int, ...] = ()  # loss times, pruned to one backoff window
    backoff_until_ms: int | None = None
    halted_reason: str = ""
    halted_until_ms: int | None = None

    def is_halted(self, now_ms: int) -> bool:
        return self.halted_until_ms is not None and now_ms < self.halted_until_ms

    def in_backoff(self, now_ms: int) -> bool:
        return self.backoff_until_ms is not None and now_ms < self.backoff_until_ms


def set_kill_switch(state: PolicyState, on: bool) -> PolicyState:
    return attrs.evolve(state, kill_switch=bool(on))


def _window(emitted: tuple[tuple[int, Tier], ...], now_ms: int, window_ms: int) -> tuple[tuple[int, Tier], ...]:
    # An emission at t is inside the window for now in [t, t + window).
    return tuple(e for e in emitted if now_ms - e[0] < window_ms)


def check(cfg: PolicyConfig, state: PolicyState, tier: Tier, now_ms: int) -> PolicyDecision:
    """May a signal of `tier` be emitted at now_ms? Kill switch, then halt, then rate limits."""
    if state.kill_switch:
        return PolicyDecision(False, BlockReason.KILL_SWITCH, "kill switch is on", alert=True)
    if state.is_halted(now_ms):
        return PolicyDecision(False, BlockReason.HALTED, f"halted until {state.halted_until_ms}: {state.halted_reason}")
    recent = _window(state.emitted, now_ms, cfg.window_ms)
    if len(recent) >= cfg.max_per_hour:
        return PolicyDecision(
            False, BlockReason.RATE_LIMIT, f"{len(recent)} signals in the last 60 min (max {cfg.max_per_hour})"
        )
    limit = cfg.tier_limit(tier)
    same = sum(1 for _, t in recent if t is tier)
    if limit is not None and same >= limit:
        return PolicyDecision(
            False,
            BlockReason.RATE_LIMIT_TIER,
            f"{same} {tier.name} signals in the last 60 min (max {limit})",
        )
    mult = 1.0 - cfg.backoff_risk_reduction_pct / 100.0 if state.in_backoff(now_ms) else 1.0
    return PolicyDecision(True, risk_multiplier=mult)


def record_emit(cfg: PolicyConfig, state: PolicyState, tier: Tier, now_ms: int) -> PolicyState:
    return attrs.evolve(state, emitted=(*_window(state.emitted, now_ms, cfg.window_ms), (now_ms, tier)))


def record_loss(cfg: PolicyConfig, state: PolicyState, at_ms: int, session_end_ms: int) -> PolicyState:
    """Record a losing trade; `backoff_losses` losses within the window start backoff until session_end_ms."""
    losses = (*(t for t in state.losses if at_ms - t < cfg.backoff_window_ms), at_ms)
    if len(losses) >= cfg.backoff_losses:
        until = max(session_end_ms, state.backoff_until_ms or 0)
        return attrs.evolve(state, losses=losses, backoff_until_ms=until)
    return attrs.evolve(state, losses=losses)


def latch_halt(state: PolicyState, reason: str, until_ms: int) -> PolicyState:
    """Halt everything until until_ms (the next daily reset); a later halt never shortens it."""
    until = max(until_ms, state.halted_until_ms or 0)
    return attrs.evolve(state, halted_reason=reason, halted_until_ms=until)
