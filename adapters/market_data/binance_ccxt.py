"""Binance spot candles through ccxt: pagination, retries with backoff, parallel symbols, resumable.

One class keeps every exchange concern in one place (as freqtrade's exchange layer does):
- markets are limited to SPOT (`options.fetchMarkets.types = ["spot"]`), so ccxt never calls the
  futures/options endpoints;
- `fetch_ohlcv` is paginated from a start time to now, `page_limit` bars a page (Binance: 1000);
- 429 / 418 / timeouts / network errors are retried with exponential backoff, a bounded number
  of times, on top of ccxt's own rate limiter;
- symbols are fetched in parallel with `ccxt.async_support` (one exchange object, so one shared
  rate limiter);
- with a `ParquetCandleStore`, `update()` resumes from the last stored bar and appends only new
  bars; pages are flushed to the store as they arrive, so an interrupted fetch keeps what it got.
Only CLOSED bars are kept: Binance also returns the bar still forming, which is dropped.
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs
import ccxt
import ccxt.async_support as ccxt_async
import numpy as np

from adapters.market_data.parquet_store import ParquetCandleStore
from domain.cleaning import sort_dedupe_order
from domain.errors import UserError
from domain.market import Candles, Timeframe
from ports.errors import UnknownSymbol, UnknownTimeframe

T = TypeVar("T")

ProgressFn = Callable[[str, int, int], None]  # (symbol, bars so far, last bar open ms)


class ExchangeUnreachable(UserError):
    """The exchange did not answer after the bounded retries; what was fetched is kept."""


@attrs.frozen
class FetchSettings:
    page_limit: int = 1000
    max_retries: int = 5
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    timeout_ms: int = 10_000
    flush_every_pages: int = 50
    api_url: str | None = None  # e.g. a local fake server in tests: http://127.0.0.1:PORT/api/v3
    rate_limit_ms: int | None = None  # None = ccxt's default for Binance


@attrs.frozen
class UpdateResult:
    symbol: str
    timeframe: str
    added: int
    rows: int
    first_new_ms: int | None
    last_ms: int | None
    error: str | None = None


def _now_ms() -> int:
    return int(time.time() * 1000)


class BinanceCcxtMarketData:
    """MarketData over Binance spot (read-through: `candles()` fetches the requested range)."""

    exchange_id = "binance"

    def __init__(
        self,
        store: ParquetCandleStore | None = None,
        settings: FetchSettings = FetchSettings(),
        now_ms: Callable[[], int] = _now_ms,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._store = store
        self._settings = settings
        self._now_ms = now_ms
        self._sleep = sleep
        self._symbols: list[str] | None = None
        self.retries = 0  # retried requests, for reports and tests

    # ------------------------------------------------------------------ exchange plumbing

    def _exchange(self) -> Any:
        cfg: dict[str, Any] = {
            "enableRateLimit": True,
            "timeout": self._settings.timeout_ms,
            "options": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        }
        if self._settings.rate_limit_ms is not None:
            cfg["rateLimit"] = self._settings.rate_limit_ms
        ex = ccxt_async.binance(cfg)
        if self._settings.api_url:
            ex.urls["api"]["public"] = self._settings.api_url
            ex.urls["api"]["private"] = self._settings.api_url
        return ex

    def _where(self) -> str:
        return self._settings.api_url or "api.binance.com"

    async def _retrying(self, what: str, call: Callable[[], Awaitable[T]]) -> T:
        s = self._settings
        for attempt in range(s.max_retries + 1):
            try:
                return await call()
            except (TimeoutError, ccxt.NetworkError) as exc:
                # NetworkError covers 429 (RateLimitExceeded), 418 (DDoSProtection), timeouts,
                # maintenance and refused connections: all worth a bounded wait and retry.
                if attempt == s.max_retries:
                    raise ExchangeUnreachable(
                        f"Binance at {self._where()} did not answer {what} after {s.max_retries + 1} attempts "
                        f"({type(exc).__name__}: {str(exc)[:160]}); bars fetched so far are kept in the store, "
                        "rerun `trading-ai data fetch` to resume"
                    ) from exc
                self.retries += 1
                await self._sleep(min(s.backoff_max_s, s.backoff_s * 2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _load_markets(self, ex: Any) -> list[str]:
        markets = await self._retrying("exchangeInfo", lambda: ex.load_markets())
        spot = sorted(m["symbol"] for m in markets.values() if m.get("spot") and m.get("active", True) is not False)
        self._symbols = spot
        return spot

    def _check_symbol(self, symbol: str, valid: list[str]) -> None:
        if symbol in valid:
            return
        if len(valid) <= 30:
            listing = ", ".join(valid)
        else:
            close = difflib.get_close_matches(symbol, valid, n=8, cutoff=0.5)
            listing = (
                (", ".join(close) + f" (closest of {len(valid)} spot markets)")
                if close
                else (f"{len(valid)} spot markets, e.g. " + ", ".join(valid[:10]))
            )
        raise UnknownSymbol(f"unknown Binance spot symbol {symbol!r}; valid symbols: {listing}")

    @staticmethod
    def _check_timeframe(ex: Any, timeframe: Timeframe | str) -> Timeframe:
        supported = [tf for tf in Timeframe if tf.value in ex.timeframes]
        text = timeframe.value if isinstance(timeframe, Timeframe) else str(timeframe).strip()
        for tf in supported:
            if tf.value == text:
                return tf
        raise UnknownTimeframe(
            f"unknown timeframe {text!r} for Binance; valid timeframes: {', '.join(t.value for t in supported)}"
        )

    # ------------------------------------------------------------------ pagination

    async def _fetch_range(
        self,
        ex: Any,
        symbol: str,
        tf: Timeframe,
        since_ms: int,
        until_ms: int | None,
        on_page: Callable[[Candles], None] | None = None,
        progress: ProgressFn | None = None,
    ) -> Candles:
        """Closed bars with since_ms <= ts < until_ms (until None = now), page by page."""
        s = self._settings
        chunks: list[np.ndarray] = []
        pending: list[np.ndarray] = []
        cursor = since_ms
        pages = 0
        total = 0
        while True:
            now = self._now_ms()
            horizon = now - tf.ms + 1  # bars opening at/after this have not closed
            stop = horizon if until_ms is None else min(until_ms, horizon)
            if cursor >= stop:
                break
            rows = await self._retrying(
                f"klines {symbol} {tf}",
                functools.partial(ex.fetch_ohlcv, symbol, tf.value, since=cursor, limit=s.page_limit),
            )
            pages += 1
            if not rows:
                break
            arr = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
            raw_last = int(arr[-1, 0])
            arr = arr[(arr[:, 0] >= cursor) & (arr[:, 0] < stop)]
            if arr.shape[0]:
                chunks.append(arr)
                pending.append(arr)
                total += arr.shape[0]
                if progress is not None:
                    progress(symbol, total, int(arr[-1, 0]))
            if on_page is not None and (pages % s.flush_every_pages == 0) and pending:
                on_page(_to_candles(symbol, tf, pending))
                pending = []
            next_cursor = raw_last + tf.ms
            if next_cursor <= cursor or len(rows) < s.page_limit:
                break
            cursor = next_cursor
        if on_page is not None and pending:
            on_page(_to_candles(symbol, tf, pending))
        return _to_candles(symbol, tf, chunks)

    # ------------------------------------------------------------------ MarketData port

    def symbols(self) -> list[str]:
        if self._symbols is None:
            asyncio.run(self._with_exchange(self._load_markets))
        return list(self._symbols or [])

    def timeframes(self) -> list[Timeframe]:
        return sorted((tf for tf in Timeframe if tf.value in ccxt.binance().timeframes), key=lambda t: t.ms)

    def candles(
        self, symbol: str, timeframe: Timeframe, start_ms: int | None = None, end_ms: int | None = None
    ) -> Candles:
        async def run(ex: Any) -> Candles:
            valid = await self._load_markets(ex)
            self._check_symbol(symbol, valid)
            tf = self._check_timeframe(ex, timeframe)
            since = 0 if start_ms is None else start_ms
            return await self._fetch_range(ex, symbol, tf, since, end_ms)

        return asyncio.run(self._with_exchange(run))

    async def _with_exchange(self, body: Callable[[Any], Awaitable[T]]) -> T:
        ex = self._exchange()
        try:
            return await body(ex)
        finally:
            await ex.close()

    # ------------------------------------------------------------------ store update

    def update(
        self,
        symbols: list[str],
        timeframe: Timeframe | str,
        since_ms: int,
        progress: ProgressFn | None = None,
    ) -> list[UpdateResult]:
        """Fetch every symbol in parallel into the store, resuming after its last stored bar.

        A symbol that fails after the bounded retries keeps what it fetched (flushed to the store)
        and is reported with its error; if any failed, `ExchangeUnreachable` is raised at the end
        with the per-symbol summary so the CLI can show it as one line.
        """
        store = self._store
        if store is None:
            raise ValueError("update() needs a ParquetCandleStore")

        async def one(ex: Any, symbol: str, tf: Timeframe) -> UpdateResult:
            last = store.last_ts(symbol, tf)
            start = since_ms if last is None else max(since_ms, last + tf.ms)
            before = 0 if last is None else len(store.candles(symbol, tf))
            added_first: list[int] = []

            def flush(c: Candles) -> None:
                if len(c):
                    if not added_first:
                        added_first.append(int(c.ts[0]))
                    store.append(c)

            error: str | None = None
            try:
                await self._fetch_range(ex, symbol, tf, start, None, on_page=flush, progress=progress)
            except ExchangeUnreachable as exc:
                error = str(exc)
            stored = store.load(symbol, tf)
            rows = 0 if stored is None else len(stored)
            return UpdateResult(
                symbol,
                tf.value,
                rows - before,
                rows,
                added_first[0] if added_first else None,
                None if stored is None else stored.last_ts,
                error,
            )

        async def run(ex: Any) -> list[UpdateResult]:
            valid = await self._load_markets(ex)
            for s in symbols:
                self._check_symbol(s, valid)
            tf = self._check_timeframe(ex, timeframe)
            return list(await asyncio.gather(*(one(ex, s, tf) for s in symbols)))

        results = asyncio.run(self._with_exchange(run))
        failed = [r for r in results if r.error]
        if failed:
            kept = "; ".join(f"{r.symbol}: {r.rows} rows kept, last bar {r.last_ms}" for r in results)
            raise ExchangeUnreachable(f"{failed[0].error} [{kept}]")
        return results


def _to_candles(symbol: str, tf: Timeframe, chunks: list[np.ndarray]) -> Candles:
    if not chunks:
        return Candles.empty(symbol, tf)
    arr = np.concatenate(chunks)
    order, _ = sort_dedupe_order(arr[:, 0].astype(np.int64))  # a re-fetched bar: the later copy wins
    a = arr[order]
    return Candles(symbol, tf, a[:, 0].astype(np.int64), a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5])
