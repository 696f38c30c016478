"""Runtime policy: kill switch, sliding-window rate limits, loss backoff, latched halt."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from domain.policy import PolicyConfig, PolicyState, check, latch_halt, record_emit, record_loss, set_kill_switch
from domain.signals import BlockReason, Tier

MIN = 60_000
CFG = PolicyConfig(max_per_hour=10, max_per_hour_by_tier={Tier.HIGH: 5})


def test_kill_switch_blocks_everything_and_alerts() -> None:
    s = set_kill_switch(PolicyState(), True)
    for tier in Tier:
        d = check(CFG, s, tier, 0)
        assert not d.allowed and d.reason is BlockReason.KILL_SWITCH and d.alert
    assert check(CFG, set_kill_switch(s, False), Tier.HIGH, 0).allowed


def test_tier_limit_high_five_per_hour_sliding() -> None:
    s = PolicyState()
    for i in range(5):
        assert check(CFG, s, Tier.HIGH, i * MIN).allowed
        s = record_emit(CFG, s, Tier.HIGH, i * MIN)
    d = check(CFG, s, Tier.HIGH, 5 * MIN)
    assert not d.allowed and d.reason is BlockReason.RATE_LIMIT_TIER
    assert check(CFG, s, Tier.MEDIUM, 5 * MIN).allowed  # other tiers have no own cap here
    assert not check(CFG, s, Tier.HIGH, 60 * MIN - 1).allowed
    assert check(CFG, s, Tier.HIGH, 60 * MIN).allowed  # the first one left the window


def test_global_limit() -> None:
    s = PolicyState()
    for i in range(10):
        s = record_emit(CFG, s, Tier.LOW, i)
    d = check(CFG, s, Tier.LOW, 10)
    assert not d.allowed and d.reason is BlockReason.RATE_LIMIT


def test_backoff_after_two_losses_within_an_hour() -> None:
    s = record_loss(CFG, PolicyState(), 0, session_end_ms=500 * MIN)
    assert check(CFG, s, Tier.LOW, MIN).risk_multiplier == 1.0
    s2 = record_loss(CFG, s, 61 * MIN, session_end_ms=500 * MIN)  # outside 60 min: no backoff
    assert not s2.in_backoff(62 * MIN)
    s3 = record_loss(CFG, s2, 100 * MIN, session_end_ms=500 * MIN)  # 61 and 100 are 39 min apart
    assert s3.in_backoff(100 * MIN)
    assert check(CFG, s3, Tier.LOW, 200 * MIN).risk_multiplier == 0.5
    assert check(CFG, s3, Tier.LOW, 500 * MIN).risk_multiplier == 1.0  # session over


def test_latched_halt_until_reset() -> None:
    s = latch_halt(PolicyState(), "daily loss floor reached", until_ms=1_000)
    d = check(CFG, s, Tier.HIGH, 999)
    assert not d.allowed and d.reason is BlockReason.HALTED and "daily loss" in d.detail
    assert check(CFG, s, Tier.HIGH, 1_000).allowed
    s2 = latch_halt(s, "again", until_ms=500)
    assert s2.halted_until_ms == 1_000  # never shortened


@given(
    gaps=st.lists(st.integers(0, 20 * MIN), min_size=1, max_size=80),
    tiers=st.lists(st.sampled_from(list(Tier)), min_size=80, max_size=80),
    max_all=st.integers(1, 12),
    max_high=st.integers(1, 6),
)
def test_no_window_ever_holds_more_than_n(gaps: list[int], tiers: list[Tier], max_all: int, max_high: int) -> None:
    cfg = PolicyConfig(max_per_hour=max_all, max_per_hour_by_tier={Tier.HIGH: max_high})
    s = PolicyState()
    now = 0
    emitted: list[tuple[int, Tier]] = []
    for gap, tier in zip(gaps, tiers, strict=False):
        now += gap
        if check(cfg, s, tier, now).allowed:
            s = record_emit(cfg, s, tier, now)
            emitted.append((now, tier))
    for t0, _ in emitted:
        window = [e for e in emitted if t0 <= e[0] < t0 + 60 * MIN]
        assert len(window) <= max_all
        assert sum(1 for _, t in window if t is Tier.HIGH) <= max_high
