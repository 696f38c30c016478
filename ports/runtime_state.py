"""RuntimeStateStore: what the running service must remember across a restart.

The scan loop keeps the operator's threshold, the kill switch, tier hysteresis streaks, the
rate-limit windows, loss backoff and latched halts in memory; a crash or a deploy must not reset
them (a restart must never switch a halted system back on). The state is one small value saved
after every cycle and every operator command.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import attrs

from domain.policy import PolicyState
from domain.signals import TierThresholds


@attrs.frozen
class PairHysteresis:
    """A pair's tier-hysteresis memory: its last scans as (direction sign, raw tier value), oldest first
    (what `domain.tiering.hysteresis_run` takes and returns as `history`)."""

    pair: str
    history: tuple[tuple[int, int], ...] = ()


@attrs.frozen
class RuntimeState:
    """Everything restart-sensitive. `mode` keeps dry-run and live state apart in one database."""

    mode: str
    thresholds: TierThresholds = attrs.field(factory=TierThresholds)
    policy: PolicyState = attrs.field(factory=PolicyState)
    hysteresis: tuple[PairHysteresis, ...] = ()
    last_cycle_ms: int | None = None
    cycles: int = 0
    updated_at_ms: int = 0

    @property
    def kill_switch(self) -> bool:
        return self.policy.kill_switch


@runtime_checkable
class RuntimeStateStore(Protocol):
    """Contract:
    - `load(mode)` returns the last saved state of that mode, or None if none was saved.
    - `save(state)` replaces the state of `state.mode` atomically (a reader sees the old or the new
      value, never a mix); saving the same value twice is a no-op in effect.
    - Values round-trip exactly: `load(s.mode) == s` after `save(s)`, including tiers, halts and
      rate-limit windows.
    - Failures raise `ports.errors.StorageError`.
    """

    def load(self, mode: str) -> RuntimeState | None: ...

    def save(self, state: RuntimeState) -> None: ...
