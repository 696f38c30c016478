"""Where the paper broker's prices come from: the latest candle close of each pair.

A price source is any callable `pair -> (price, at_ms)`; `LatestClose` adapts a MarketData-like
object (anything with `latest_close(pair)` or a `candles(pair, ...)` view) or a plain dict that a
test or the replay loop updates.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping

from ports.errors import MarketClosed

PriceSource = Callable[[str], tuple[float, int]]


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
    """Close of the newest candle from a callable returning a Candles-like object (`close`, `ts`)."""

    def __init__(self, latest_candles: Callable[[str], object]) -> None:
        self._latest = latest_candles

    def __call__(self, pair: str) -> tuple[float, int]:
        candles = self._latest(pair)
        close = getattr(candles, "close", None)
        ts = getattr(candles, "ts", None)
        if close is None or ts is None or len(close) == 0:
            raise MarketClosed(f"no candle for {pair} yet")
        return float(close[-1]), int(ts[-1])
