"""SentimentSource contract. Factories get tmp_path and return a source that knows BTC/USDT."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.sentiment import FixedSentiment
from ports.sentiment import SentimentSource

SOURCES: list[Any] = [pytest.param(lambda tmp_path: FixedSentiment({"BTC/USDT": 0.3}), id="mock")]


@pytest.fixture(params=SOURCES)
def src(request: pytest.FixtureRequest, tmp_path: Path) -> SentimentSource:
    factory: Callable[[Path], SentimentSource] = request.param
    return factory(tmp_path)


def test_score_in_range_and_unknown_is_none(src: SentimentSource) -> None:
    assert isinstance(src, SentimentSource) and src.name
    s = src.score("BTC/USDT", 1_704_067_200_000)
    assert s is not None and -1.0 <= s <= 1.0
    assert src.score("NOPE/USDT", 1_704_067_200_000) is None


def test_mock_rejects_out_of_range() -> None:
    with pytest.raises(ValueError):
        FixedSentiment({"X/Y": 2.0})
