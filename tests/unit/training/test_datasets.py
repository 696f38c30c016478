"""training.datasets on SYNTHETIC candles: labels, gap handling, embargoed folds, windows."""

from __future__ import annotations

import numpy as np

from tests.unit.training.conftest import synthetic_candles, toy_matrix
from training.datasets import build_series, walk_forward_folds, window_set


def test_labels_are_future_move_over_h_bars() -> None:
    c = synthetic_candles(200)
    s = build_series(c, toy_matrix(c), seq_len=4, horizon=3)
    t = 50
    assert s.future_return[t] == (c.close[t + 3] - c.close[t]) / c.close[t]
    assert s.direction[t] == float(c.close[t + 3] > c.close[t])
    # the last h bars have no label and cannot end a sample
    assert np.isnan(s.direction[-3:]).all() and not s.sample_ok[-3:].any()
    assert not s.sample_ok[:3].any()  # warm-up: fewer than seq_len rows


def test_no_window_or_label_crosses_a_gap() -> None:
    c = synthetic_candles(300, gap_at=150)  # bars missing between index 149 and 150
    s = build_series(c, toy_matrix(c), seq_len=5, horizon=3)
    # windows ending at 150..153 include the gap; labels from 147..149 reach across it
    assert not s.sample_ok[147:154].any()
    assert s.sample_ok[146] and s.sample_ok[154]


def test_nan_features_void_the_windows_that_contain_them() -> None:
    c = synthetic_candles(200)
    m = toy_matrix(c)
    m.values[100, 1] = np.nan
    s = build_series(c, m, seq_len=4, horizon=2)
    assert not s.sample_ok[100:104].any() and s.sample_ok[99] and s.sample_ok[104]


def test_folds_are_ordered_with_embargo_and_most_recent_test_last() -> None:
    c = synthetic_candles(3000)
    s = build_series(c, toy_matrix(c), seq_len=8, horizon=3)
    folds = walk_forward_folds(s, n_folds=2, val_frac=0.1, test_frac=0.1, seq_len=8, horizon=3)
    for f in folds:
        assert f.train.max() + 3 < f.val.min() - 8  # train labels end before the embargo
        assert f.val.max() + 3 < f.test.min()
        assert f.val.min() - f.train.max() >= f.embargo_bars
    assert folds[0].test.max() < folds[1].test.min()
    assert folds[1].test.max() == np.flatnonzero(s.sample_ok).max()


def test_window_set_gathers_the_rows_ending_at_each_sample() -> None:
    c = synthetic_candles(100)
    m = toy_matrix(c)
    s = build_series(c, m, seq_len=4, horizon=2)
    x = m.values.astype(np.float32)
    ends = np.array([10, 20])
    ws = window_set([(x, s, ends, 0)], 4)
    w = ws.windows(np.array([1]))
    assert w.shape == (1, 4, 3)
    np.testing.assert_array_equal(w[0], x[17:21])
    assert ws.direction[0] == s.direction[10]
