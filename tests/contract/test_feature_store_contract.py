"""FeatureStore contract. Factories get tmp_path and return an empty store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.mocks.feature_store import InMemoryFeatureStore
from domain.feature_matrix import FeatureMatrix
from ports.errors import StorageError
from ports.feature_store import FeatureStore

STORES: list[Any] = [pytest.param(lambda tmp_path: InMemoryFeatureStore(), id="mock")]

# The versioned parquet feature store; see the factories' module.
from tests.integration.market_data.contract_factories import FEATURE_STORE_FACTORIES  # noqa: E402

STORES.extend(FEATURE_STORE_FACTORIES)


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> FeatureStore:
    factory: Callable[[Path], FeatureStore] = request.param
    return factory(tmp_path)


def fm(ts: list[int], base: float, names: tuple[str, ...] = ("a", "b")) -> FeatureMatrix:
    vals = np.array([[base + t, np.nan if t == 2 else -t] for t in ts])[:, : len(names)]
    return FeatureMatrix("BTC/USDT", "5m", "f1", ts, names, vals)


def test_put_get_merge_and_range(store: FeatureStore) -> None:
    assert isinstance(store, FeatureStore)
    assert store.get("BTC/USDT", "5m", "f1") is None
    store.put(fm([1, 2, 3], 0.0))
    store.put(fm([3, 4], 100.0))  # ts 3 replaced
    got = store.get("BTC/USDT", "5m", "f1")
    assert got is not None and got.ts.tolist() == [1, 2, 3, 4]
    assert got.column("a").tolist() == [1.0, 2.0, 103.0, 104.0] and np.isnan(got.column("b")[1])
    part = store.get("BTC/USDT", "5m", "f1", 2, 4)
    assert part is not None and part.ts.tolist() == [2, 3]
    store.put(fm([3, 4], 100.0))
    again = store.get("BTC/USDT", "5m", "f1")
    assert again is not None and again.equals(got)
    assert store.keys() == [("BTC/USDT", "5m", "f1")]
    with pytest.raises(StorageError):
        store.put(fm([5], 0.0, names=("a",)))
