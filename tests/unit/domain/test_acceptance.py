"""The micro-lot acceptance gate: Wilson interval, 100-trade floor, latency adjustment, fill comparison."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.acceptance import AcceptanceConfig, Verdict, compare_fills, evaluate, wilson_interval
from domain.risk_book import TradeRecord
from domain.signals import Mode, Tier


def trade(
    i: int,
    win: bool,
    mode: Mode = Mode.LIVE,
    latency: float = 100.0,
    r: float | None = None,
    slip: float | None = None,
    slip_exp: float | None = None,
) -> TradeRecord:
    return TradeRecord(
        signal_id=f"t{i}",
        pair="BTC/USDT",
        tier=Tier.HIGH,
        entry_time_ms=i,
        entry_price=40_000.0,
        tp_price=40_400.0,
        sl_price=39_800.0,
        rr_expected=2.0,
        result="W" if win else "L",
        exit_time_ms=i + 1,
        exit_price=40_400.0 if win else 39_800.0,
        r_realized=r if r is not None else (2.0 if win else -1.0),
        latency_ms=latency,
        mode=mode,
        slippage_bps=slip,
        slippage_expected_bps=slip_exp,
    )


def book(wins: int, n: int, **kw: object) -> list[TradeRecord]:
    return [trade(i, i < wins, **kw) for i in range(n)]  # type: ignore[arg-type]


def test_wilson_matches_the_textbook_values() -> None:
    lo, hi = wilson_interval(68, 100)
    assert lo == pytest.approx(0.5833, abs=1e-4) and hi == pytest.approx(0.7633, abs=1e-4)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] == pytest.approx(1.0)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_estimate(wn: tuple[int, int]) -> None:
    wins, n = wn
    lo, hi = wilson_interval(wins, n)
    assert 0.0 <= lo <= wins / n + 1e-12 and wins / n - 1e-12 <= hi <= 1.0


def test_no_verdict_below_100_trades_even_at_a_perfect_record() -> None:
    res = evaluate(book(99, 99))
    assert res.verdict is Verdict.INSUFFICIENT_DATA and res.n_trades == 99
    assert "no verdict before 100" in res.reasons[0]


def test_open_trades_do_not_count() -> None:
    trades = [*book(80, 100), attrs.evolve(trade(500, True), result=None, r_realized=None)]
    assert evaluate(trades).n_trades == 100


def test_68_percent_over_100_raises_risk_and_states_the_interval() -> None:
    res = evaluate(book(68, 100))
    assert res.verdict is Verdict.RAISE_RISK
    assert res.adjusted_win_rate == pytest.approx(0.68)
    assert "58.3%..76.3%" in res.reasons[-1]
    assert evaluate(book(67, 100)).verdict is Verdict.KEEP_RISK


def test_strict_mode_needs_the_lower_bound_above_target() -> None:
    strict = AcceptanceConfig(require_lower_bound=True)
    assert evaluate(book(68, 100), strict).verdict is Verdict.KEEP_RISK
    assert evaluate(book(160, 200), strict).verdict is Verdict.RAISE_RISK  # 80%: lower bound 73.9%


def test_latency_penalty_turns_thin_simulated_wins_into_losses() -> None:
    # Dry-run wins of +0.1R over a 200-point stop: 10 bps at 40,000 = 40 points = 0.2R penalty.
    slow = [trade(i, True, mode=Mode.DRYRUN, latency=900.0, r=0.1) for i in range(10)]
    fast = [trade(100 + i, True, mode=Mode.DRYRUN, latency=100.0, r=0.1) for i in range(60)]
    live_slow = [trade(200 + i, True, mode=Mode.LIVE, latency=900.0, r=0.1) for i in range(5)]
    losses = [trade(300 + i, False) for i in range(25)]
    cfg = AcceptanceConfig(latency_penalty_bps=10.0)
    res = evaluate(slow + fast + live_slow + losses, cfg)
    assert res.wins == 75 and res.adjusted_wins == 65 and res.n_penalised == 10 and res.n_over_sla == 15
    assert res.verdict is Verdict.KEEP_RISK  # 65% after the adjustment, 75% before
    assert evaluate(slow + fast + live_slow + losses).verdict is Verdict.RAISE_RISK  # no penalty configured


def test_fills_worse_than_the_model_block_the_raise() -> None:
    worse = [trade(i, i < 80, slip=4.0 + (i % 3) * 0.1, slip_exp=1.0) for i in range(100)]
    res = evaluate(worse)
    assert res.fills is not None and res.fills.diff_mean_bps == pytest.approx(3.1, abs=0.01)
    assert not res.fills.consistent and res.verdict is Verdict.KEEP_RISK
    agree = [trade(i, i < 80, slip=1.0 + ((i % 5) - 2) * 0.2, slip_exp=1.0) for i in range(100)]
    res2 = evaluate(agree)
    assert res2.fills is not None and res2.fills.consistent and res2.verdict is Verdict.RAISE_RISK


def test_compare_fills_without_data_is_none() -> None:
    assert compare_fills(book(5, 10)) is None
