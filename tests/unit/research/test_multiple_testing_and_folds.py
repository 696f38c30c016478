"""The grid's statistics (domain.multiple_testing) and purged walk-forward folds (domain.splits)."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.multiple_testing import (
    benjamini_hochberg,
    corrected_lower_bound,
    mean_test,
    norm_ppf,
    trade_gate,
)
from domain.splits import purged_walk_forward


def test_benjamini_hochberg_step_up_on_a_worked_example() -> None:
    # p sorted 0.001 0.008 0.039 0.041 0.042 0.06 0.074 0.205; m = 8, q = 0.05: the largest k with
    # p_(k) <= k q / m is k = 2 (0.008 <= 0.0125; 0.039 > 0.01875), so two are selected.
    p = [0.041, 0.001, 0.074, 0.008, 0.205, 0.039, 0.06, 0.042]
    sel, adj = benjamini_hochberg(p, 0.05)
    assert sel.tolist() == [False, True, False, True, False, False, False, False]
    assert adj[1] == pytest.approx(0.008) and adj[3] == pytest.approx(0.032)
    assert adj[7] == pytest.approx(0.0672)  # min over the step-up of p_(k) m / k: 0.042*8/5
    # NaN (a cell without trades) counts as p = 1 and still counts in m
    sel2, _ = benjamini_hochberg([0.001, float("nan")], 0.05)
    assert sel2.tolist() == [True, False]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40))
def test_bh_selects_exactly_the_smallest_k(p: list[float]) -> None:
    sel, adj = benjamini_hochberg(p, 0.1)
    m = len(p)
    srt = sorted(p)
    k = max((i + 1 for i in range(m) if srt[i] <= 0.1 * (i + 1) / m), default=0)
    assert int(sel.sum()) == k
    assert all(a >= x - 1e-12 for a, x in zip(adj, p, strict=True))
    assert ((adj <= 0.1) == sel).all()


def test_normal_quantiles_match_the_standard_library() -> None:
    for q in (1e-8, 1e-4, 0.01, 0.2, 0.5, 0.8, 0.975, 0.999999):
        assert norm_ppf(q) == pytest.approx(NormalDist().inv_cdf(q), abs=1e-9)


def test_the_corrected_bound_is_wider_than_the_plain_one_and_the_gate_needs_all_three() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(5.0, 20.0, 400)  # SYNTHETIC trade returns (bps)
    t = mean_test(x)
    assert t.ci_low < t.mean < t.ci_high and 0 < t.p_one_sided < 0.001
    low = corrected_lower_bound(t.mean, t.se, selected=1, m=200, q=0.05)
    assert low < t.ci_low  # 1 of 200 selected: a 1 - 0.05/200 one-sided bound
    assert low == pytest.approx(t.mean - NormalDist().inv_cdf(1 - 0.05 / 200) * t.se)
    assert trade_gate(t, True, low, 0.01, min_trades=100).passed == (low > 0)
    assert not trade_gate(t, False, 1.0, 0.2, min_trades=100).passed  # not selected by BH
    assert not trade_gate(mean_test(x[:50]), True, 1.0, 0.01, min_trades=100).passed  # too few trades
    assert mean_test([]).p_one_sided == 1.0 and math.isnan(mean_test([]).mean)


def test_purged_folds_never_let_a_label_reach_the_next_block() -> None:
    n, h, emb = 5_000, 12, 40
    usable = np.ones(n, dtype=bool)
    usable[1234:1300] = False  # a hole in the data
    folds = purged_walk_forward(usable, h, n_folds=4, test_share=0.5, val_share=0.1, embargo_bars=emb)
    assert len(folds) == 4
    ends = [f.test_bounds for f in folds]
    assert ends[-1][1] == n and all(a[1] == b[0] for a, b in itertools.pairwise(ends))
    for f in folds:
        t0, _ = f.test_bounds
        v0 = int(f.validate.min())
        assert int(f.train.max()) + h < v0 - emb  # purge + embargo before validation
        assert int(f.validate.max()) + h < t0 - emb  # and before the test block
        assert not np.isin(np.arange(1234, 1300), np.concatenate((f.train, f.validate, f.test))).any()
    with pytest.raises(ValueError):
        purged_walk_forward(np.ones(50, dtype=bool), 12, 4)
