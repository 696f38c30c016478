from __future__ import annotations

import numpy as np
import pytest

from domain.normalisation import Standardiser


def test_fit_uses_only_the_training_rows() -> None:
    x = np.array([[1.0, 10.0], [3.0, 10.0], [100.0, -5.0], [np.nan, 7.0]])
    train = np.array([True, True, False, False])
    s = Standardiser.fit(x, train, names=("a", "b"))
    assert s.mean.tolist() == [2.0, 10.0]
    assert s.std[0] == pytest.approx(np.sqrt(2.0))
    assert s.std[1] == 1.0  # constant column: no division by zero
    z = s.apply(x)
    assert z[0, 0] == pytest.approx(-1 / np.sqrt(2.0))
    assert np.isnan(z[3, 0])


def test_saved_with_the_model_round_trips_exactly() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(3.0, 2.0, size=(500, 4))
    x[5, 2] = np.nan
    s = Standardiser.fit(x, names=("a", "b", "c", "d"))
    back = Standardiser.from_dict(s.to_dict())
    np.testing.assert_array_equal(back.apply(x), s.apply(x))
    assert back.names == ("a", "b", "c", "d")
    np.testing.assert_allclose(s.invert(s.apply(x)), x)


def test_wrong_column_count_is_refused() -> None:
    s = Standardiser.fit(np.ones((3, 2)))
    with pytest.raises(ValueError):
        s.apply(np.ones((3, 3)))
