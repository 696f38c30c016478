"""Sentiment as an ensemble input: scored posts, the rolling score per pair, and the filter rule.

A post's score is VADER's compound score in [-1, 1] (bearish..bullish). A pair's score at `at_ms`
is the mean of the scores of its posts created in [at_ms - window, at_ms) -- strictly before
`at_ms`, so a replay or a backtest never sees a post the live service could not have seen -- and its
coverage is how many posts that mean is over. Pure: numpy only.
"""

from __future__ import annotations

import math

import attrs
import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEFAULT_WINDOW_MS = 3_600_000  # the plan's rolling hour
SENTIMENT_MEMBER = "sentiment"  # the ensemble key of the sentiment input


def _unit(_inst: object, _attr: object, value: float) -> None:
    if not -1.0 <= value <= 1.0 or math.isnan(value):
        raise ValueError(f"a sentiment score must be in [-1, 1], got {value}")


@attrs.frozen
class ScoredPost:
    """One post or headline about one pair, as scored when it was fetched."""

    source: str  # "reddit", "cryptopanic", ...
    post_id: str
    pair: str
    created_at_ms: int
    score: float = attrs.field(validator=_unit)
    title: str = ""


@attrs.frozen
class SentimentReading:
    """A pair's rolling score at one instant: None when no post fell in the window."""

    pair: str
    at_ms: int
    score: float | None
    coverage: int  # posts in the window
    window_ms: int = DEFAULT_WINDOW_MS


def rolling_scores(
    created_ms: IntArray, scores: FloatArray, at_ms: IntArray, window_ms: int = DEFAULT_WINDOW_MS
) -> tuple[FloatArray, IntArray]:
    """Per instant in `at_ms`: (mean score of the posts created in [at - window, at), their count).

    NaN where the window holds no post. `created_ms` need not be sorted (ties keep their order).
    Vectorised: one sort, two binary searches and one segmented sum; each window's sum is the same
    reduction over the same values whether it is computed alone (a live reading) or among all the bars
    of a backtest, so both give bit-identical scores.
    """
    order = np.argsort(np.asarray(created_ms, dtype=np.int64), kind="stable")
    t = np.asarray(created_ms, dtype=np.int64)[order]
    s = np.asarray(scores, dtype=np.float64)[order]
    at = np.asarray(at_ms, dtype=np.int64)
    hi = np.searchsorted(t, at, side="left")  # posts created strictly before `at`
    lo = np.searchsorted(t, at - int(window_ms), side="left")
    n = (hi - lo).astype(np.int64)
    if len(at) == 0:
        return np.zeros(0), n
    bounds = np.empty(2 * len(at), dtype=np.intp)
    bounds[0::2], bounds[1::2] = lo, hi
    sums = np.add.reduceat(np.append(s, 0.0), bounds)[0::2]  # [lo, hi) per instant (lo == hi: masked)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, sums / np.maximum(n, 1), np.nan)
    return mean, n


def reading_of(pair: str, posts: list[ScoredPost], at_ms: int, window_ms: int = DEFAULT_WINDOW_MS) -> SentimentReading:
    """The scalar form over one pair's posts (the same arithmetic as `rolling_scores`)."""
    mine = [p for p in posts if p.pair == pair]
    mean, n = rolling_scores(
        np.array([p.created_at_ms for p in mine], dtype=np.int64),
        np.array([p.score for p in mine], dtype=np.float64),
        np.array([at_ms], dtype=np.int64),
        window_ms,
    )
    score = None if int(n[0]) == 0 else float(mean[0])
    return SentimentReading(pair, at_ms, score, int(n[0]), window_ms)


def combine(readings: list[SentimentReading]) -> SentimentReading | None:
    """Several sources' readings of one pair: the post-weighted mean over those with a score."""
    present = [r for r in readings if r.score is not None and r.coverage > 0]
    if not present:
        return None
    n = sum(r.coverage for r in present)
    mean = sum(float(r.score) * r.coverage for r in present if r.score is not None) / n
    return SentimentReading(present[0].pair, present[0].at_ms, max(-1.0, min(1.0, mean)), n, present[0].window_ms)


def as_prob_up(score: float) -> float:
    """The ensemble's view of a score: 0.5 + score / 2 (-1 -> 0, 0 -> 0.5, +1 -> 1)."""
    return 0.5 + 0.5 * max(-1.0, min(1.0, score))


def as_prob_up_batch(scores: FloatArray) -> FloatArray:
    return 0.5 + 0.5 * np.clip(np.asarray(scores, dtype=np.float64), -1.0, 1.0)


def against_sentiment_batch(direction_sign: IntArray, member_prob: FloatArray, bound: float) -> npt.NDArray[np.bool_]:
    """The filter, on the ensemble member's probability (`as_prob_up` of the score), the form the live
    cycle (one row per pair) and the batch engine (one row per bar) both run: a signal whose direction
    opposes a strong score, |score| >= bound with score = 2 p - 1, is blocked. NaN = no score: never
    blocked; bound 0 = off."""
    p = np.asarray(member_prob, dtype=np.float64)
    if bound <= 0:
        return np.zeros(p.shape, dtype=bool)
    s = 2.0 * p - 1.0
    with np.errstate(invalid="ignore"):
        return (~np.isnan(p)) & (np.abs(s) >= bound) & (s * np.asarray(direction_sign) < 0)
