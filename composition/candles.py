"""The one data path: every command that reads candles (train, features, backtest, replay, research)
reads the cleaned store, `<data.store_dir>/raw/<exchange>`, through `cleaned_store`.

`import_pairs` is `trading-ai data import`: the bundled files' rows as stored (duplicates, order and
all) cleaned by `domain.cleaning` under `data.conflict_policy`, written to the store with their
reports merged into `quality.json`. When a command needs a pair the store lacks and the bundled
folder has it, the same import runs first and says so on stderr: nothing reads the bundled files
past the cleaning.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from composition.config import Config
from domain.errors import UserError
from domain.market import Timeframe

if TYPE_CHECKING:
    from adapters.market_data.parquet_store import ParquetCandleStore
    from domain.cleaning import CleaningParams, QualityReport


def cleaning_params(config: Config) -> CleaningParams:
    from domain.cleaning import CleaningParams, ConflictPolicy

    return CleaningParams(policy=ConflictPolicy.parse(config.data.conflict_policy))


def store_at(config: Config, store_dir: str | None = None) -> ParquetCandleStore:
    from adapters.market_data.parquet_store import ParquetCandleStore

    return ParquetCandleStore(store_dir or config.data.store_dir, config.data.exchange)


def import_pairs(
    config: Config,
    store: ParquetCandleStore,
    pairs: Sequence[tuple[str, Timeframe]] | None = None,
    candles_dir: str | None = None,
    on_done: Callable[[QualityReport], None] | None = None,
) -> list[QualityReport]:
    """Clean bundled files into the store (all of them when `pairs` is None); returns the reports."""
    from adapters.market_data.bundled import BundledCandles
    from domain.cleaning import clean_candles

    bundled = BundledCandles(candles_dir or config.data.candles_dir)
    todo = list(pairs) if pairs is not None else [(s, tf) for s in bundled.symbols() for tf in bundled.timeframes_of(s)]
    if not todo:
        raise UserError(f"no candle files (BASE_QUOTE-TF.parquet) in {bundled.directory}")
    params = cleaning_params(config)
    reports = []
    for symbol, tf in todo:
        rows = bundled.rows(symbol, tf)
        candles, report = clean_candles(
            symbol, tf, rows.ts, rows.open, rows.high, rows.low, rows.close, rows.volume, params
        )
        store.replace(candles)
        reports.append(report)
        if on_done is not None:
            on_done(report)
    store.write_quality([r.to_dict() for r in reports])
    return reports


def cleaned_store(
    config: Config,
    need: Sequence[tuple[str, Timeframe]] = (),
    store_dir: str | None = None,
    candles_dir: str | None = None,
    required: bool = True,
) -> ParquetCandleStore:
    """The cleaned store, holding every (symbol, timeframe) of `need`: a pair missing from it is
    imported from the bundled folder first (one stderr line each); one the bundled folder lacks
    too is a UserError telling how to get it (left out silently only when not `required`: the
    caller lists what is there, e.g. no BNB 1m)."""
    from adapters.market_data.bundled import BundledCandles

    store = store_at(config, store_dir)
    have = set(store.entries())
    missing = [(s, Timeframe.parse(tf)) for s, tf in need if (s, Timeframe.parse(tf)) not in have]
    if not missing:
        return store
    try:
        bundled = BundledCandles(candles_dir or config.data.candles_dir)
        available = {(s, tf) for s in bundled.symbols() for tf in bundled.timeframes_of(s)}
    except UserError:
        available = set()
    lacking = [m for m in missing if m not in available]
    if not required:
        missing, lacking = [m for m in missing if m in available], []
    if not missing:
        return store
    if lacking:
        s, tf = lacking[0]
        raise UserError(
            f"no {tf} candles of {s} in the cleaned store {store.root} nor in the bundled folder "
            f"{candles_dir or config.data.candles_dir}; run `trading-ai data fetch --symbols {s} --timeframe {tf}`"
        )
    reports = import_pairs(config, store, missing, candles_dir)
    for r in reports:
        print(
            f"cleaned store lacked {r.symbol} {r.timeframe}: imported {r.rows_out:,} bars from the bundled files "
            f"({len(r.findings)} findings, policy {r.policy}; {store.quality_path})",
            file=sys.stderr,
        )
    return store
