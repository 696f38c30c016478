"""Where the paper broker's prices come from: the latest candle close of each pair.

A price source is any callable `pair -> (price, at_ms)`; `LatestClose` adapts a callable returning
the newest candles of a pair (a Candles-like object), `ManualPrices` is a board a test or the demo sets.
A bar source is a callable `pair -> Candles-like` (`ts`, `open`, `high`, `low`, `close`, and
`timeframe.ms`): the paper broker resolves stops and targets on the high/low of each closed bar with
it. `LatestClose.bars` is one, over the same candles.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from ports.errors import MarketClosed

PriceSource = Callable[[str], tuple[float, int]]
BarSource = Callable[[str], Any]


class ManualPrices:
    """A price board set by hand (tests, replays, the demo): `set(pair, price, at_ms)`."""

    def __init__(self, prices: MutableMapping[str, tuple[float, int]] | None = None) -> None:
        self._prices: MutableMapping[str, tuple[float, int]] = dict(prices or {})

    def set(self, pair: str, price: float, at_ms: int = 0) -> None:
        if not price > 0:
            raise ValueError(f"{pair}: price must be positive, got {price}")
        self._prices[pair] = (float(price), int(at_ms))

    def __call__(self, pair: str) -> tuple[float, int]:
        try:
            return self._prices[pair]
        except KeyError:
            raise MarketClosed(f"no price for {pair} yet (no candle received)") from None


class LatestClose:
    """Close of the newest candle from a callable returning a Candles-like object (`close`, `ts`).
    `bars(pair)` hands the paper broker the same candles, so stops are checked on their highs/lows."""

    def __init__(self, latest_candles: Callable[[str], object]) -> None:
        self._latest = latest_candles

    def bars(self, pair: str) -> object:
        return self._latest(pair)

    def __call__(self, pair: str) -> tuple[float, int]:
        candles = self._latest(pair)
        close = getattr(candles, "close", None)
        ts = getattr(candles, "ts", None)
        if close is None or ts is None or len(close) == 0:
            raise MarketClosed(f"no candle for {pair} yet")
        return float(close[-1]), int(ts[-1])
