"""Runtime policy: kill switch, sliding-window rate limits, loss backoff and the latched halt.

State is an immutable value; every function returns a new one, so the live runtime and the
backtest share the exact same rules.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs
import numba
import numpy as np
import numpy.typing as npt

from domain.market import MS_PER_MINUTE
from domain.signals import BLOCK_CODES, REASON_OF_CODE, BlockReason, Tier

IntArray = npt.NDArray[np.int64]
NO_TIME = int(np.iinfo(np.int64).min)  # "no such instant" (None) in the compiled state
_KILL_SWITCH = BLOCK_CODES[BlockReason.KILL_SWITCH]
_HALTED = BLOCK_CODES[BlockReason.HALTED]
_RATE_LIMIT = BLOCK_CODES[BlockReason.RATE_LIMIT]
_RATE_LIMIT_TIER = BLOCK_CODES[BlockReason.RATE_LIMIT_TIER]


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

    def tier_limits(self) -> IntArray:
        """Per tier value, its per-hour cap (-1: none), as `gate` reads it."""
        out = np.full(len(Tier), -1, dtype=np.int64)
        for t, n in self.max_per_hour_by_tier:
            out[int(t)] = n
        return out


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
    code, mult, count = gate(gate_state(cfg, state, now_ms, tier), emitted_rows(state), cfg.tier_limits())
    return decision_of(code, mult, count, cfg, state, tier)


# What `gate` reads of the state and the config, as one tuple of plain numbers: kill switch, halted until
# (NO_TIME: not halted), now, window, max per hour, backoff until (NO_TIME: none), backoff reduction %, tier.
GateState = tuple[bool, int, int, int, int, int, float, int]


def gate_state(cfg: PolicyConfig, state: PolicyState, now_ms: int, tier: Tier) -> GateState:
    """`gate`'s numbers for a signal of `tier` at `now_ms`."""
    return (
        bool(state.kill_switch),
        NO_TIME if state.halted_until_ms is None else int(state.halted_until_ms),
        int(now_ms),
        int(cfg.window_ms),
        int(cfg.max_per_hour),
        NO_TIME if state.backoff_until_ms is None else int(state.backoff_until_ms),
        float(cfg.backoff_risk_reduction_pct),
        int(tier),
    )


def emitted_rows(state: PolicyState) -> IntArray:
    """The emitted signals as `gate` reads them: one row (time, tier) each."""
    n = len(state.emitted)
    return np.array([(t, int(x)) for t, x in state.emitted], dtype=np.int64).reshape(n, 2)


def decision_of(
    code: int, mult: float, count: int, cfg: PolicyConfig, state: PolicyState, tier: Tier
) -> PolicyDecision:
    """The `PolicyDecision` of `gate`'s answer (its detail for a person)."""
    if code == 0:
        return PolicyDecision(True, risk_multiplier=mult)
    reason = REASON_OF_CODE[code]
    if reason is BlockReason.KILL_SWITCH:
        return PolicyDecision(False, reason, "kill switch is on", alert=True)
    if reason is BlockReason.HALTED:
        return PolicyDecision(False, reason, f"halted until {state.halted_until_ms}: {state.halted_reason}")
    if reason is BlockReason.RATE_LIMIT:
        return PolicyDecision(False, reason, f"{count} signals in the last 60 min (max {cfg.max_per_hour})")
    return PolicyDecision(False, reason, f"{count} {tier.name} signals in the last 60 min (max {cfg.tier_limit(tier)})")


@numba.njit(cache=True, inline="always")
def gate(g: GateState, emitted: IntArray, tier_limits: IntArray) -> tuple[int, float, int]:
    """`check` on plain numbers (compiled; domain.decision's compiled decision starts here): (block code
    or 0, the loss backoff's risk multiplier, the count a rate limit saw). `emitted`: one row per
    emitted signal (time, tier); an emission at t counts for now in [t, t + window). `tier_limits`: per
    tier value its cap per window, -1 for none (PolicyConfig.tier_limits)."""
    kill_switch, halted_until, now_ms, window_ms, max_per_hour, backoff_until, backoff_reduction_pct, tier = g
    if kill_switch:
        return _KILL_SWITCH, 1.0, 0
    if halted_until != NO_TIME and now_ms < halted_until:
        return _HALTED, 1.0, 0
    recent = 0
    same = 0
    for q in range(emitted.shape[0]):
        if now_ms - emitted[q, 0] < window_ms:
            recent += 1
            same += emitted[q, 1] == tier
    if recent >= max_per_hour:
        return _RATE_LIMIT, 1.0, recent
    limit = tier_limits[tier]
    if limit >= 0 and same >= limit:
        return _RATE_LIMIT_TIER, 1.0, same
    if backoff_until != NO_TIME and now_ms < backoff_until:
        return 0, 1.0 - backoff_reduction_pct / 100.0, 0
    return 0, 1.0, 0


@numba.njit(cache=True)
def later_of(until_ms: int, current: int) -> int:
    """A halt's or a backoff's end after extending `current` (NO_TIME: none) to `until_ms`; never shorter."""
    return max(until_ms, current if current != NO_TIME else 0)


def record_emit(cfg: PolicyConfig, state: PolicyState, tier: Tier, now_ms: int) -> PolicyState:
    return attrs.evolve(state, emitted=(*_window(state.emitted, now_ms, cfg.window_ms), (now_ms, tier)))


def record_loss(cfg: PolicyConfig, state: PolicyState, at_ms: int, session_end_ms: int) -> PolicyState:
    """Record a losing trade; `backoff_losses` losses within the window start backoff until session_end_ms."""
    losses = (*(t for t in state.losses if at_ms - t < cfg.backoff_window_ms), at_ms)
    if len(losses) >= cfg.backoff_losses:
        until = later_of(session_end_ms, NO_TIME if state.backoff_until_ms is None else state.backoff_until_ms)
        return attrs.evolve(state, losses=losses, backoff_until_ms=int(until))
    return attrs.evolve(state, losses=losses)


def latch_halt(state: PolicyState, reason: str, until_ms: int) -> PolicyState:
    """Halt everything until until_ms (the next daily reset); a later halt never shortens it."""
    until = later_of(until_ms, NO_TIME if state.halted_until_ms is None else state.halted_until_ms)
    return attrs.evolve(state, halted_reason=reason, halted_until_ms=int(until))
