"""praw (real) against a fake Reddit on 127.0.0.1: the OAuth app token, /r/{sub}/new paging through
`after`, Reddit's rate-limit headers, a 429 with Retry-After, a timeout."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from plugins.sentiment.reddit import RedditFetcher
from plugins.sentiment.scoring import PairMatcher, VaderScorer
from plugins.sentiment.settings import SentimentSettings
from tests.integration.sentiment.fake_servers import FakeReddit

T0 = 1_759_276_800  # 2025-10-01 00:00 UTC
NOW_S = T0 + 3 * 3600


@pytest.fixture
def reddit() -> Iterator[FakeReddit]:
    fake = FakeReddit(NOW_S, page_size=4)
    # a window about to reset with most of its 60 requests left: prawcore sends without pacing
    fake.ratelimit_override = {"x-ratelimit-used": "1", "x-ratelimit-remaining": "59", "x-ratelimit-reset": "1"}
    with fake.running():
        yield fake


def _fetcher(fake: FakeReddit, **kw: Any) -> RedditFetcher:
    s = SentimentSettings(
        reddit_client_id="cid",
        reddit_client_secret="csecret",
        reddit_oauth_url=fake.url,
        reddit_url=fake.url,
        **{"timeout_seconds": 2.0, **kw},
    )
    return RedditFetcher(s, VaderScorer(), PairMatcher(s.bases))


def test_new_posts_of_the_window_through_pages_scored_and_matched(reddit: FakeReddit) -> None:
    f = _fetcher(reddit)
    posts = f.fetch(NOW_S * 1000)
    window = [
        c["data"]
        for c in reddit.children
        if NOW_S - 3600 < c["data"]["created_utc"] <= NOW_S
        and c["data"]["subreddit"].lower() in ("cryptocurrency", "bitcoin")
    ]
    assert {p.post_id for p in posts} == {d["id"] for d in window}
    assert all(NOW_S * 1000 - 3_600_000 < p.created_at_ms <= NOW_S * 1000 for p in posts)
    btc = [p.score for p in posts if p.pair == "BTC/USDT"]
    eth = [p.score for p in posts if p.pair == "ETH/USDT"]
    assert btc and eth and sum(btc) / len(btc) < -0.2 < 0.2 < sum(eth) / len(eth)  # VADER on the titles
    listing = reddit.listing_requests()
    assert any("after" in q for _, q in listing)  # paged (4 a page)
    assert all(q.get("raw_json") == "1" for _, q in listing)
    token_calls = [r for r in reddit.requests if r[2] == "/api/v1/access_token"]
    assert len(token_calls) == 1 and "grant_type=client_credentials" not in token_calls[0][2]
    # a second poll asks only for what is new: one page per subreddit, nothing returned
    reddit.requests.clear()
    assert f.fetch(NOW_S * 1000 + 60_000) == []
    assert len(reddit.listing_requests()) == 2


def test_rate_limit_headers_make_praw_wait_for_the_reset(reddit: FakeReddit) -> None:
    reddit.ratelimit_override = {"x-ratelimit-used": "60", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1"}
    f = _fetcher(reddit, subreddits=("cryptocurrency",), window_minutes=120)
    f.fetch(NOW_S * 1000)
    times = [t for t, _ in reddit.listing_requests()]
    assert len(times) >= 2
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.9  # waited for x-ratelimit-reset


def test_the_60_per_minute_window_spreads_requests(reddit: FakeReddit) -> None:
    reddit.ratelimit_override = None  # the fake's own accounting: 60 a minute, `used` growing
    f = _fetcher(reddit, subreddits=("cryptocurrency",), window_minutes=120)
    f.fetch(NOW_S * 1000)
    times = [t for t, _ in reddit.listing_requests()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) >= 2 and all(g >= 0.9 for g in gaps)  # prawcore paces what is left over the window


def test_a_429_backs_off_until_retry_after_then_resumes(reddit: FakeReddit) -> None:
    f = _fetcher(reddit)
    reddit.now_s = NOW_S - 7200
    f.fetch(NOW_S * 1000 - 7_200_000)  # token + a first poll, two hours earlier
    reddit.now_s = NOW_S
    reddit.fail_next(429, {"retry-after": "30"})
    now = NOW_S * 1000
    assert f.fetch(now) == []
    assert f.blocked_until_ms == now + 30_000 and "429" in f.last_error
    n = len(reddit.requests)
    assert f.fetch(now + 10_000) == [] and len(reddit.requests) == n  # still backing off: no request
    assert f.fetch(now + 31_000)  # resumed


def test_a_timeout_is_retried_by_prawcore_and_a_persistent_one_answers_no_posts(
    reddit: FakeReddit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("prawcore.sessions.random.random", lambda: 0.0)  # prawcore's retry jitter, not its count
    f = _fetcher(reddit, subreddits=("cryptocurrency",), timeout_seconds=0.5)
    reddit.now_s = NOW_S - 7200
    f.fetch(NOW_S * 1000 - 7_200_000)
    reddit.now_s = NOW_S
    reddit.delay_next(1.0)
    assert f.fetch(NOW_S * 1000)  # one timeout, retried
    reddit.delay_next(1.0, times=3)
    t = time.monotonic()
    assert f.fetch(NOW_S * 1000 + 60_000) == []
    assert time.monotonic() - t < 10 and "Read timed out" in f.last_error
    assert len(reddit.listing_requests()) >= 3 + 3  # prawcore tried three times
