"""FTMO floors, exact numbers (FTMO's own daily-loss example, docs/ftmo-rules.md)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain import prague_time as pt
from domain.ftmo import ChallengeKind, FtmoRules, FtmoState, Phase, best_day_ok, check, progress

UTC = dt.UTC


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp() * 1000)


def test_ftmo_daily_loss_example_from_docs() -> None:
    rules = FtmoRules(initial_balance=100_000)
    assert rules.daily_floor(105_000, buffered=False) == 100_000.0
    assert rules.daily_floor(105_000) == 100_500.0
    assert rules.total_floor() == 91_000.0
    assert rules.total_floor(buffered=False) == 90_000.0


def test_daily_floor_uses_initial_balance_not_day_start() -> None:
    rules = FtmoRules(initial_balance=200_000)
    assert rules.daily_floor(190_000) == 181_000.0  # 190,000 - 4.5% x 200,000


def test_check_binding_floor_and_breach() -> None:
    rules = FtmoRules()
    state = FtmoState(day_start_ms=0, day_start_balance=105_000, max_eod_balance=105_000)
    c = check(rules, state, equity=100_400)
    assert c.daily_floor == 100_500 and c.total_floor == 91_000
    assert c.floor == 100_500 and c.binding == "daily_loss"
    assert c.breached and not c.ftmo_breached
    assert c.daily_headroom == -100 and c.total_headroom == 9_400
    c2 = check(rules, FtmoState(0, 93_000, 100_000), equity=91_500)
    assert c2.floor == 91_000 and c2.binding == "max_loss" and not c2.breached


def test_profit_targets() -> None:
    assert FtmoRules().profit_target == 10_000
    assert FtmoRules(phase=Phase.VERIFICATION).profit_target == 5_000
    assert FtmoRules(phase=Phase.FUNDED).profit_target == 0
    assert FtmoRules.one_step().profit_target == 10_000


def test_min_trading_days_counts_days_with_an_opened_position() -> None:
    rules = FtmoRules()
    s = FtmoState.start(ms(2024, 1, 8, 9), 100_000)
    for day in (8, 8, 9, 10):
        s = s.with_trade_opened(ms(2024, 1, day, 10))
    p = progress(rules, s, 110_500)
    assert p.trading_days == 3 and not p.passed
    s = s.with_trade_opened(ms(2024, 1, 11, 10))
    assert progress(rules, s, 110_500).passed
    assert not progress(rules, s, 109_999).passed


def test_trading_day_follows_prague_midnight() -> None:
    # 23:30 UTC on 8 Jan is 00:30 on 9 Jan in Prague (CET): a different trading day than 22:30 UTC.
    s = FtmoState.start(0, 1.0).with_trade_opened(ms(2024, 1, 8, 22, 30)).with_trade_opened(ms(2024, 1, 8, 23, 30))
    assert len(s.trading_days) == 2


def test_one_step_trailing_floor_and_daily() -> None:
    rules = FtmoRules.one_step(100_000)
    assert rules.kind is ChallengeKind.ONE_STEP
    assert rules.daily_floor(100_000) == 97_300.0  # 2.7% buffer of FTMO's 3%
    assert rules.daily_floor(100_000, buffered=False) == 97_000.0
    assert rules.total_floor(100_000) == 91_000.0
    assert rules.total_floor(104_000) == 95_000.0  # trails the best end-of-day balance
    assert rules.total_floor(120_000) == 100_000.0  # stops trailing at the initial balance
    assert rules.total_floor(95_000) == 91_000.0  # never below the static floor
    assert FtmoRules().total_floor(120_000) == 91_000.0  # two-step does not trail


def test_roll_updates_day_start_and_trailing_max_at_prague_midnight() -> None:
    s = FtmoState.start(ms(2024, 7, 1, 12), 100_000)
    assert s.day_start_ms == ms(2024, 6, 30, 22)  # CEST midnight
    same = s.roll(ms(2024, 7, 1, 21, 59), 103_000)
    assert same is s
    nxt = s.roll(ms(2024, 7, 1, 22, 0), 103_000)
    assert nxt.day_start_ms == ms(2024, 7, 1, 22) and nxt.day_start_balance == 103_000
    assert nxt.max_eod_balance == 103_000
    low = nxt.roll(ms(2024, 7, 3, 1), 101_000)
    assert low.max_eod_balance == 103_000 and low.day_start_balance == 101_000


def test_best_day_rule() -> None:
    assert best_day_ok(((1, 500.0), (2, 500.0)), 0.5)
    assert not best_day_ok(((1, 600.0), (2, 400.0)), 0.5)
    assert best_day_ok(((1, -100.0),), 0.5)
    rules = FtmoRules.one_step()
    s = FtmoState.start(0, 100_000)
    for d in (1, 2, 3):
        s = s.with_trade_opened(d * 86_400_000 + 3_600_000 * 10)
    s = s.with_closed_pnl(86_400_000 * 1 + 36_000_000, 8_000).with_closed_pnl(86_400_000 * 2 + 36_000_000, 2_500)
    p = progress(rules, s, 110_500)
    assert not p.best_day_ok and not p.passed
    s = s.with_closed_pnl(86_400_000 * 3 + 36_000_000, 6_000)
    assert progress(rules, s, 116_500).passed


def test_rules_validation() -> None:
    with pytest.raises(ValueError):
        FtmoRules(daily_buffer_pct=6.0)
    with pytest.raises(ValueError):
        FtmoRules(total_buffer_pct=11.0)
    with pytest.raises(ValueError):
        FtmoRules(initial_balance=0)


PRAGUE = ZoneInfo("Europe/Prague")


def test_dst_switch_dates_2024() -> None:
    start, end = pt.dst_bounds_ms(2024)
    assert start == ms(2024, 3, 31, 1) and end == ms(2024, 10, 27, 1)
    assert pt.prague_offset_ms(start - 1) == 3_600_000 and pt.prague_offset_ms(start) == 7_200_000
    assert pt.prague_offset_ms(end - 1) == 7_200_000 and pt.prague_offset_ms(end) == 3_600_000
    assert pt.next_day_start_ms(ms(2024, 3, 30, 12)) == ms(2024, 3, 30, 23)
    assert pt.next_day_start_ms(ms(2024, 3, 31, 12)) == ms(2024, 3, 31, 22)


@given(st.integers(min_value=ms(1997, 1, 1), max_value=ms(2090, 1, 1)))
def test_prague_offset_and_midnight_match_tz_database(ts: int) -> None:
    local = dt.datetime.fromtimestamp(ts / 1000, PRAGUE)
    offset = local.utcoffset()
    assert offset is not None
    assert pt.prague_offset_ms(ts) == int(offset.total_seconds() * 1000)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    assert pt.day_start_ms(ts) == int(midnight.timestamp() * 1000)
    assert pt.day_start_ms(ts) <= ts < pt.next_day_start_ms(ts)


@given(st.integers(min_value=-800_000, max_value=800_000))
def test_civil_roundtrip(day: int) -> None:
    y, m, d = pt.civil_from_days(day)
    assert pt.days_from_civil(y, m, d) == day
    assert dt.date(1970, 1, 1) + dt.timedelta(days=day) == dt.date(y, m, d) if 1 <= y <= 9999 else True


def test_docs_walkthrough_mentions_the_asserted_numbers() -> None:
    from pathlib import Path

    text = (Path(__file__).resolve().parents[3] / "docs" / "ftmo-rules.md").read_text()
    for number in ("105,000", "**100,000**", "**100,500**", "**91,000**"):
        assert number in text
