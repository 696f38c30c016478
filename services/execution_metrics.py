"""The execution-metrics job: measure spread and slippage per pair x session into an ExecutionModel.

Two sources:

(a) OHLC estimate (`model_from_ohlc`), for when no broker feed exists. Samples are hourly blocks
    of bars (an hour never straddles a session boundary, since sessions are defined in whole UTC
    hours): per block, the Corwin-Schultz mean of the two-bar estimates (negatives set to 0) and
    the Abdi-Ranaldo window estimate sqrt(max(mean 4(c-eta)(c-eta'), 0)); the block's spread is
    the mean of the two. Two-bar windows that straddle a data gap are dropped.
    Slippage has no OHLC estimator. The proxy used, labelled as an estimate in the file: the
    expected absolute price move while an order is in flight, for a Brownian price whose
    variance is the block's Parkinson variance: sqrt(2/pi) * sigma_bar * sqrt(latency / bar).
    With `latency` = the reference latency (default: the SLA). It ignores order-book depth and
    broker mark-ups, so it is a lower bound on real slippage.
    Both estimators measure the exchange's (Binance spot) spread; a CFD broker's spread differs.

(b) Broker (`model_from_broker`): spreads from bid/ask snapshots, slippage from fills
    (requested vs filled price, adverse positive). Price improvement is counted as zero cost, so
    the distribution stays non-negative; this is conservative. Cells with too few samples take
    the fallback model's distribution (usually the OHLC estimate) and say so in their `source`.

Sessions overlap (London and New York share 12-16 UTC); a sample counts for every session open
at its time, so each profile describes trading while that session is open.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import attrs
import numpy as np
import numpy.typing as npt

from domain.errors import DataError
from domain.execution_costs import (
    DEFAULT_LATENCY_SLA_MS,
    SOURCE_BROKER,
    SOURCE_OHLC,
    Distribution,
    ExecutionModel,
    ExecutionProfile,
    QuoteSample,
)
from domain.market import (
    DEFAULT_SESSION_HOURS,
    MS_PER_HOUR,
    Candles,
    Session,
    SessionHours,
    Timeframe,
    session_masks,
)
from domain.spread_estimators import abdi_ranaldo_squared, corwin_schultz
from domain.trading import Fill
from ports.broker import Broker
from ports.clock import Clock
from ports.market_data import MarketData

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BPS: Final = 1e4
_PARKINSON: Final = 1.0 / (4.0 * math.log(2.0))
_ABS_NORMAL: Final = math.sqrt(2.0 / math.pi)  # E|Z| for a standard normal Z
DEFAULT_MIN_SAMPLES: Final = 30


@attrs.frozen(eq=False)
class OhlcBlockSamples:
    """Per-hour-block estimates (bps) of one pair; `hour_ms` is each block's start."""

    hour_ms: IntArray
    corwin_schultz_bps: FloatArray
    abdi_ranaldo_bps: FloatArray
    spread_bps: FloatArray
    slippage_bps: FloatArray


def _group_mean(values: FloatArray, group: IntArray, n_groups: int) -> tuple[FloatArray, IntArray]:
    finite = np.isfinite(values)
    sums = np.bincount(group, weights=np.where(finite, values, 0.0), minlength=n_groups)
    counts = np.bincount(group, weights=finite.astype(np.float64), minlength=n_groups).astype(np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(sums / counts, dtype=np.float64), counts


def ohlc_block_samples(
    candles: Candles,
    reference_latency_ms: float = DEFAULT_LATENCY_SLA_MS,
    min_pairs_per_block: int | None = None,
) -> OhlcBlockSamples:
    """Hourly spread and slippage estimates from one pair's candles (see the module docstring).

    A block needs `min_pairs_per_block` valid two-bar windows (default: half the bars an hour
    holds, at least 2), otherwise its estimates are NaN.
    """
    tf = candles.timeframe
    if tf.ms > MS_PER_HOUR:
        raise DataError(f"OHLC execution estimates need bars of 1h or shorter, got {tf}")
    if not reference_latency_ms > 0:
        raise ValueError("reference_latency_ms must be > 0")
    bars_per_hour = MS_PER_HOUR // tf.ms
    need = max(2, bars_per_hour // 2) if min_pairs_per_block is None else min_pairs_per_block
    h, lo, c, ts = candles.high, candles.low, candles.close, candles.ts
    contiguous = np.concatenate(([False], np.diff(ts) == tf.ms))
    cs = np.where(contiguous, corwin_schultz(h, lo, c), np.nan)
    s2 = np.where(contiguous, abdi_ranaldo_squared(h, lo, c), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        park = np.log(h / lo) ** 2 * _PARKINSON
    park = np.where(np.isfinite(park), park, np.nan)

    hour = ts // MS_PER_HOUR
    uniq, group = np.unique(hour, return_inverse=True)
    n = uniq.shape[0]
    group = np.asarray(group, dtype=np.int64).ravel()
    cs_m, cs_n = _group_mean(cs, group, n)
    s2_m, s2_n = _group_mean(s2, group, n)
    var_m, var_n = _group_mean(park, group, n)
    cs_m = np.where(cs_n >= need, cs_m, np.nan)
    ar = np.where(s2_n >= need, np.sqrt(np.maximum(s2_m, 0.0)), np.nan)
    both = np.stack([cs_m, ar])
    with np.errstate(invalid="ignore"):
        n_valid = np.isfinite(both).sum(axis=0)
        spread = np.where(n_valid > 0, np.nansum(both, axis=0) / np.maximum(n_valid, 1), np.nan)
    sigma_latency = np.sqrt(var_m * (reference_latency_ms / tf.ms))
    slip = np.where(var_n >= need, _ABS_NORMAL * sigma_latency, np.nan)
    return OhlcBlockSamples(
        hour_ms=np.asarray(uniq * MS_PER_HOUR, dtype=np.int64),
        corwin_schultz_bps=cs_m * BPS,
        abdi_ranaldo_bps=ar * BPS,
        spread_bps=spread * BPS,
        slippage_bps=slip * BPS,
    )


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _dist(samples: FloatArray, what: str, min_samples: int) -> Distribution:
    x = samples[np.isfinite(samples)]
    if x.shape[0] < min_samples:
        raise DataError(f"{what}: {x.shape[0]} samples, need at least {min_samples}")
    return Distribution.from_samples(x)


def model_from_ohlc(
    candles_by_pair: Mapping[str, Candles],
    as_of: dt.date,
    *,
    hours: SessionHours = DEFAULT_SESSION_HOURS,
    latency_sla_ms: float = DEFAULT_LATENCY_SLA_MS,
    reference_latency_ms: float | None = None,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> ExecutionModel:
    """An ExecutionModel labelled `ohlc-estimate` from each pair's intraday candles."""
    if not candles_by_pair:
        raise DataError("no candles given to estimate execution costs from")
    ref = latency_sla_ms if reference_latency_ms is None else reference_latency_ms
    profiles: list[ExecutionProfile] = []
    spans: list[str] = []
    for pair, candles in sorted(candles_by_pair.items()):
        if len(candles) < 2:
            raise DataError(f"{pair}: {len(candles)} candles, too few to estimate spreads")
        blocks = ohlc_block_samples(candles, ref)
        masks = session_masks(blocks.hour_ms, hours)
        for s in Session:
            m = masks[s]
            label = f"{pair} {s.value} ({candles.timeframe})"
            spread = _dist(blocks.spread_bps[m], f"{label} spread", min_samples)
            slip = _dist(blocks.slippage_bps[m], f"{label} slippage", min_samples)
            comps = {
                "corwin_schultz": float(np.nanmean(blocks.corwin_schultz_bps[m])),
                "abdi_ranaldo": float(np.nanmean(blocks.abdi_ranaldo_bps[m])),
            }
            profiles.append(ExecutionProfile(pair, s, spread, slip, SOURCE_OHLC, comps))
        spans.append(f"{pair} {candles.timeframe} {_iso(int(candles.ts[0]))} .. {_iso(int(candles.ts[-1]))}")
    metadata = {
        "spread_method": "mean of Corwin-Schultz (2012, negatives->0) and Abdi-Ranaldo (2017, "
        "window form) per 1-hour block of bars",
        "slippage_method": f"ESTIMATE: sqrt(2/pi) * Parkinson sigma per bar * sqrt({ref:g} ms / bar); "
        "expected price move while an order is in flight; ignores depth and broker mark-up",
        "sample_unit": "one 1-hour block of bars",
        "data": "; ".join(spans),
    }
    return ExecutionModel(profiles, source=SOURCE_OHLC, as_of=as_of, latency_sla_ms=latency_sla_ms, metadata=metadata)


def model_from_market_data(
    market: MarketData,
    pairs: Sequence[str],
    timeframe: Timeframe,
    as_of: dt.date,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    hours: SessionHours = DEFAULT_SESSION_HOURS,
    latency_sla_ms: float = DEFAULT_LATENCY_SLA_MS,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> ExecutionModel:
    """`model_from_ohlc` over candles read through the MarketData port."""
    candles = {p: market.candles(p, timeframe, start_ms, end_ms) for p in pairs}
    return model_from_ohlc(candles, as_of, hours=hours, latency_sla_ms=latency_sla_ms, min_samples=min_samples)


# --- broker source --------------------------------------------------------------------------------


def snapshot_quotes(broker: Broker, clock: Clock, pairs: Iterable[str]) -> list[QuoteSample]:
    """One bid/ask snapshot per pair, stamped with the clock (what the nightly job records)."""
    out = []
    for pair in pairs:
        bid, ask = broker.quote(pair)
        out.append(QuoteSample(pair=pair, at_ms=clock.now_ms(), bid=bid, ask=ask))
    return out


def fills_since(broker: Broker, since_ms: int, pairs: Iterable[str]) -> list[Fill]:
    wanted = set(pairs)
    return [f for f in broker.fills(since_ms) if f.pair in wanted]


def _session_values(at_ms: Sequence[int], values: Sequence[float], hours: SessionHours) -> dict[Session, FloatArray]:
    ts = np.asarray(at_ms, dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    masks = session_masks(ts, hours)
    return {s: v[masks[s]] for s in Session}


def model_from_broker(
    pairs: Sequence[str],
    fills: Sequence[Fill],
    quotes: Sequence[QuoteSample],
    as_of: dt.date,
    *,
    fallback: ExecutionModel | None = None,
    hours: SessionHours = DEFAULT_SESSION_HOURS,
    latency_sla_ms: float = DEFAULT_LATENCY_SLA_MS,
    min_samples: int = DEFAULT_MIN_SAMPLES,
) -> ExecutionModel:
    """An ExecutionModel from broker quotes (spread) and fills (slippage).

    A cell (pair x session, spread or slippage) with fewer than `min_samples` samples takes the
    `fallback` model's distribution; without a fallback that is a DataError naming the cells.
    """
    profiles: list[ExecutionProfile] = []
    short: list[str] = []
    used_fallback = False
    for pair in pairs:
        pq = [q for q in quotes if q.pair == pair]
        pf = [f for f in fills if f.pair == pair]
        spreads = _session_values([q.at_ms for q in pq], [q.spread_bps for q in pq], hours)
        # Price improvement (negative adverse slippage) counts as zero cost: conservative.
        slips = _session_values([f.at_ms for f in pf], [max(f.slippage_bps(), 0.0) for f in pf], hours)
        for s in Session:
            parts: dict[str, Distribution] = {}
            origin: dict[str, str] = {}
            for what, samples in (("spread", spreads[s]), ("slippage", slips[s])):
                if samples.shape[0] >= min_samples:
                    parts[what] = Distribution.from_samples(samples)
                    origin[what] = SOURCE_BROKER
                elif fallback is not None:
                    fb = fallback.profile(pair, s)
                    parts[what] = getattr(fb, what)
                    origin[what] = f"{fb.source} (fallback, as of {fallback.as_of.isoformat()})"
                    used_fallback = True
                else:
                    short.append(f"{pair} {s.value} {what}: {samples.shape[0]}")
            if len(parts) == 2:
                src = (
                    SOURCE_BROKER
                    if set(origin.values()) == {SOURCE_BROKER}
                    else f"spread: {origin['spread']}; slippage: {origin['slippage']}"
                )
                profiles.append(ExecutionProfile(pair, s, parts["spread"], parts["slippage"], src))
    if short:
        raise DataError(
            f"too few broker samples (need {min_samples}) for {', '.join(short)}; record more quotes "
            "and fills, or run `trading-ai exec-metrics update --source ohlc` first so they fall back to it"
        )
    metadata = {
        "spread_method": "(ask - bid) / mid of recorded broker quote snapshots",
        "slippage_method": "adverse (fill - requested) / requested of broker fills; improvement counted as 0",
        "sample_unit": "one quote snapshot / one fill",
        "fills": str(len(fills)),
        "quotes": str(len(quotes)),
    }
    source = SOURCE_BROKER if not used_fallback else f"{SOURCE_BROKER}+{fallback.source if fallback else ''}"
    return ExecutionModel(profiles, source=source, as_of=as_of, latency_sla_ms=latency_sla_ms, metadata=metadata)
