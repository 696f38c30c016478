"""A sentiment source with a fixed score table, and an in-memory store of scored posts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from domain.sentiment import ScoredPost, SentimentReading


class FixedSentiment:
    def __init__(self, scores: Mapping[str, float], name: str = "fixed", coverage: int = 1) -> None:
        for k, v in scores.items():
            if not -1.0 <= v <= 1.0:
                raise ValueError(f"sentiment for {k} must be in [-1, 1]")
        self._scores = dict(scores)
        self._name = name
        self._coverage = coverage

    @property
    def name(self) -> str:
        return self._name

    def reading(self, pair: str, at_ms: int) -> SentimentReading | None:
        s = self._scores.get(pair)
        return None if s is None else SentimentReading(pair, at_ms, s, self._coverage)

    def score(self, pair: str, at_ms: int) -> float | None:
        return self._scores.get(pair)


class InMemorySentimentStore:
    def __init__(self) -> None:
        self._posts: dict[tuple[str, str, str], ScoredPost] = {}
        self._readings: dict[tuple[str, int, str], SentimentReading] = {}

    def add_posts(self, posts: Sequence[ScoredPost]) -> int:
        new = 0
        for p in posts:
            key = (p.source, p.post_id, p.pair)
            if key not in self._posts:
                self._posts[key] = p
                new += 1
        return new

    def posts(self, pair: str, start_ms: int, end_ms: int) -> list[ScoredPost]:
        return sorted(
            (p for p in self._posts.values() if p.pair == pair and start_ms <= p.created_at_ms < end_ms),
            key=lambda p: (p.created_at_ms, p.source, p.post_id),
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
