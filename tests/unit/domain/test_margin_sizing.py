"""Position sizing capped by free margin: exact numbers and the money-guarding properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.signals import BlockReason
from domain.sizing import (
    cap_to_margin,
    loss_per_lot,
    margin_price,
    position_size,
    size_order,
    volume_for_margin,
)
from domain.trading import DEFAULT_MARGIN_RATE, AccountState, SymbolSpec

BTC = SymbolSpec("BTC/USDT", "BTCUSD", contract_size=1.0, min_lot=0.01, lot_step=0.01, digits=2)
BTC_2X = SymbolSpec("BTC/USDT", "BTCUSD", margin_rate=0.5)


def test_margin_vocabulary() -> None:
    assert DEFAULT_MARGIN_RATE == 1.0  # no leverage assumed when the broker does not say
    assert BTC.margin_rate == 1.0
    assert BTC_2X.margin_for(0.5, 60_000) == 15_000.0
    assert AccountState(100_000, 99_000, margin=30_000).free_margin == 69_000
    with pytest.raises(ValueError, match="margin_rate"):
        SymbolSpec("X/Y", "XY", margin_rate=0.0)


def test_volume_for_margin_exact() -> None:
    # 30,000 free at 1:2 on 60,000 -> 30,000 / (0.5 x 60,000) = 1.0 lot
    assert volume_for_margin(30_000, 60_000, BTC_2X) == 1.0
    # a cent short of a whole lot: floored to the lot step
    assert volume_for_margin(29_999.99, 60_000, BTC_2X) == 0.99
    # less than one minimum lot's margin (300) -> 0
    assert volume_for_margin(299.99, 60_000, BTC_2X) == 0.0
    assert volume_for_margin(0.0, 60_000, BTC_2X) == 0.0
    assert volume_for_margin(-5.0, 60_000, BTC_2X) == 0.0
    assert cap_to_margin(0.4, 30_000, 60_000, BTC_2X) == 0.4  # fits: unchanged
    assert cap_to_margin(2.5, 30_000, 60_000, BTC_2X) == 1.0  # capped


def test_margin_price_adds_the_cost_allowance() -> None:
    assert margin_price(60_000, 0.0) == 60_000
    assert margin_price(60_000, 25.0) == pytest.approx(60_150)


def test_tight_stop_is_capped_by_margin_not_by_risk() -> None:
    # 0.5% of 100,000 = 500 at risk; a 0.2% stop (120) buys 4.16 lots = 250,000 notional, 2.5x equity.
    assert position_size(100_000, 0.5, 60_000, 59_880, BTC_2X) == 4.16
    s = size_order(100_000, 0.5, 60_000, 59_880, BTC_2X, free_margin=100_000)
    assert s.volume == 3.33 and s.block is None and s.margin_capped  # 100,000 / 30,000 per lot
    assert s.volume * loss_per_lot(60_000, 59_880, BTC_2X) <= 500
    # with 30,000 of margin already used by another position
    assert size_order(100_000, 0.5, 60_000, 59_880, BTC_2X, free_margin=70_000).volume == 2.33
    # the cost allowance raises the margin price: 100,000 / (0.5 x 60,150) = 3.325 -> 3.32
    assert size_order(100_000, 0.5, 60_000, 59_880, BTC_2X, free_margin=100_000, cost_bps=25.0).volume == 3.32


def test_wide_stop_is_sized_by_risk_alone() -> None:
    s = size_order(100_000, 0.5, 60_000, 59_000, BTC, free_margin=100_000)
    assert s.volume == 0.5 and s.block is None and not s.margin_capped


def test_blocks_say_why() -> None:
    below = size_order(100_000, 0.5, 60_000, 0.0, BTC, free_margin=100_000)  # 60,000 per lot at risk
    assert below.volume == 0.0 and below.block is BlockReason.BELOW_MIN_LOT
    no_margin = size_order(100_000, 0.5, 60_000, 59_880, BTC, free_margin=599.0)  # one min lot needs 600
    assert no_margin.volume == 0.0 and no_margin.block is BlockReason.INSUFFICIENT_MARGIN
    assert "free margin 599.00" in no_margin.detail and "600.00" in no_margin.detail
    negative = size_order(100_000, 0.5, 60_000, 59_880, BTC, free_margin=-10.0)
    assert negative.block is BlockReason.INSUFFICIENT_MARGIN


@given(
    equity=st.floats(1_000, 1e7),
    free_frac=st.floats(-0.5, 1.0),
    risk=st.floats(0.01, 5.0),
    entry=st.floats(1.0, 1e5),
    dist_frac=st.floats(1e-4, 0.5),
    cs=st.sampled_from([1.0, 10.0, 100.0, 0.1]),
    step=st.sampled_from([0.01, 0.1, 1.0]),
    rate=st.sampled_from([1.0, 0.5, 1 / 3.3, 0.05, 0.01]),
    cost_bps=st.floats(0.0, 100.0),
    mult=st.sampled_from([1.0, 0.5]),
)
def test_sized_volume_fits_free_margin_and_risk_budget(
    equity: float,
    free_frac: float,
    risk: float,
    entry: float,
    dist_frac: float,
    cs: float,
    step: float,
    rate: float,
    cost_bps: float,
    mult: float,
) -> None:
    spec = SymbolSpec("X/Y", "XY", contract_size=cs, min_lot=step, lot_step=step, margin_rate=rate)
    sl = entry * (1 - dist_frac)
    free = equity * free_frac
    s = size_order(equity, risk, entry, sl, spec, free_margin=free, cost_bps=cost_bps, risk_multiplier=mult)
    vol = s.volume
    price = margin_price(entry, cost_bps)
    assert vol >= 0
    assert vol * loss_per_lot(entry, sl, spec) <= equity * risk / 100 * mult + 1e-9  # never over the budget
    assert spec.margin_for(vol, price) <= max(free, 0.0) + 1e-9  # never more margin than is free
    assert vol == 0 or vol >= spec.min_lot
    assert (vol == 0) == (s.block is not None)
    # maximal: the smaller of the two caps, never less (unless at max_lot)
    if s.block is None and vol < spec.max_lot:
        more = vol + step
        assert more * loss_per_lot(entry, sl, spec) > equity * risk / 100 * mult - 1e-6 or (
            spec.margin_for(more, price) > free - 1e-6
        )
