"""The sentiment source the runtime gets: fetchers (Reddit, CryptoPanic) -> scored posts in the store
-> per pair, the rolling mean over the window before `at_ms` and its coverage.

Live (and a dry run on the real clock) polls the fetchers on a background thread every
`poll_seconds`, so a slow or failing site never delays a scan cycle; the cycle's `reading` only reads
the store. A replay has no fetchers: it reads what was stored (what live saw). Either way the score
at `at_ms` uses only posts created before `at_ms` (domain.sentiment.reading_of).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from domain.sentiment import ScoredPost, SentimentReading, reading_of
from ports.sentiment import SentimentStore

log = logging.getLogger("trading_ai.sentiment")


class Fetcher(Protocol):
    name: str
    last_error: str

    def fetch(self, now_ms: int) -> list[ScoredPost]: ...


class MemoryStore:
    """Used when the host passes no store (tests, tools): the posts of this process only."""

    def __init__(self) -> None:
        self._posts: dict[tuple[str, str, str], ScoredPost] = {}
        self._readings: dict[tuple[str, int, str], SentimentReading] = {}

    def add_posts(self, posts: Sequence[ScoredPost]) -> int:
        before = len(self._posts)
        for p in posts:
            self._posts.setdefault((p.source, p.post_id, p.pair), p)
        return len(self._posts) - before

    def posts(self, pair: str, start_ms: int, end_ms: int) -> list[ScoredPost]:
        return sorted(
            (p for p in self._posts.values() if p.pair == pair and start_ms <= p.created_at_ms < end_ms),
            key=lambda p: p.created_at_ms,
        )

    def record_reading(self, source: str, reading: SentimentReading) -> None:
        self._readings[(reading.pair, reading.at_ms, source)] = reading

    def readings(self, pair: str) -> list[tuple[str, SentimentReading]]:
        return [
            (k[2], r) for k, r in sorted(self._readings.items(), key=lambda kv: (kv[0][1], kv[0][2])) if k[0] == pair
        ]

    def history(self, pair: str | None = None) -> tuple[int, int, int] | None:
        ts = [p.created_at_ms for p in self._posts.values() if pair is None or p.pair == pair]
        return (min(ts), max(ts), len(ts)) if ts else None


class SentimentFeed:
    """ports.sentiment.SentimentSource over a store filled by fetchers."""

    name = "sentiment"

    def __init__(
        self,
        store: SentimentStore | None,
        fetchers: Sequence[Fetcher] = (),
        *,
        window_ms: int = 3_600_000,
        poll_seconds: float = 300.0,
        record: bool = True,
        wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
    ) -> None:
        self.store: SentimentStore = store if store is not None else MemoryStore()
        self.fetchers = list(fetchers)
        self.window_ms = int(window_ms)
        self.poll_seconds = float(poll_seconds)
        self.record = record
        self.wall_ms = wall_ms
        self.polls = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- fetching
    def poll_once(self, now_ms: int | None = None) -> int:
        """Fetch every source once and store the new posts; returns how many were new. Never raises."""
        now = self.wall_ms() if now_ms is None else now_ms
        new = 0
        for f in self.fetchers:
            try:
                posts = f.fetch(now)
                added = self.store.add_posts(posts)
            except Exception:  # one source's bug must not stop the other's polling
                log.exception("sentiment_poll_failed", extra={"ctx": {"source": f.name}})
                continue
            new += added
            log.info(
                "sentiment_polled",
                extra={"ctx": {"source": f.name, "posts": len(posts), "new": added, "error": f.last_error}},
            )
        self.polls += 1
        return new

    def start(self) -> None:
        """Poll now and then every `poll_seconds` on a daemon thread (live only)."""
        if not self.fetchers or self._thread is not None:
            return

        def run() -> None:
            while not self._stop.is_set():
                self.poll_once()
                self._stop.wait(self.poll_seconds)

        self._thread = threading.Thread(target=run, name="sentiment-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # ---------------------------------------------------------------- the port
    def reading(self, pair: str, at_ms: int) -> SentimentReading | None:
        posts = self.store.posts(pair, at_ms - self.window_ms, at_ms)
        r = reading_of(pair, posts, at_ms, self.window_ms)
        if self.record:
            self.store.record_reading(self.name, r)
        return r if r.score is not None else None

    def score(self, pair: str, at_ms: int) -> float | None:
        r = self.reading(pair, at_ms)
        return None if r is None else r.score
