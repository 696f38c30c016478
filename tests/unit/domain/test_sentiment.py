"""domain.sentiment: the rolling score uses only posts created before `at`, the batch form equals the
scalar form bit for bit, and combining sources weighs them by their posts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.sentiment import ScoredPost, SentimentReading, combine, reading_of, rolling_scores

HOUR = 3_600_000


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 10 * HOUR), st.floats(-1, 1)), max_size=80),
    st.lists(st.integers(0, 11 * HOUR), min_size=1, max_size=30),
)
def test_batch_equals_scalar_and_sees_only_the_hour_before_at(posts: list[tuple[int, float]], ats: list[int]) -> None:
    objs = [ScoredPost("r", str(i), "BTC/USDT", t, s) for i, (t, s) in enumerate(posts)]
    mean, n = rolling_scores(
        np.array([t for t, _ in posts], dtype=np.int64),
        np.array([s for _, s in posts], dtype=np.float64),
        np.array(ats, dtype=np.int64),
    )
    for k, at in enumerate(ats):
        inside = [p for p in objs if at - HOUR <= p.created_at_ms < at]
        r = reading_of("BTC/USDT", inside, at)  # what a live reading over the stored window computes
        assert r.coverage == int(n[k]) == len(inside)
        if inside:
            assert r.score == float(mean[k])  # bit-identical
            assert min(inside, key=lambda p: p.score).score <= r.score <= max(inside, key=lambda p: p.score).score
        else:
            assert r.score is None and np.isnan(mean[k])
        # a post created exactly at `at` is not seen
        late = reading_of("BTC/USDT", [*objs, ScoredPost("r", "late", "BTC/USDT", at, 1.0)], at)
        assert late.coverage == r.coverage


def test_combine_weighs_sources_by_posts_and_skips_empty() -> None:
    a = SentimentReading("BTC/USDT", 5, 0.5, 3)
    b = SentimentReading("BTC/USDT", 5, -0.5, 1)
    c = SentimentReading("BTC/USDT", 5, None, 0)
    r = combine([a, b, c])
    assert r is not None and r.coverage == 4 and r.score == (0.5 * 3 - 0.5) / 4
    assert combine([c]) is None and combine([]) is None
