"""SentimentStore on SQLAlchemy (SQLite file or PostgreSQL): the scored posts and the readings used.

The tables are the schema's (adapters/storage/tables.py, migration 0006); only `trading-ai db
upgrade` creates them. A database without them (never migrated) holds no sentiment: reads find
nothing, and a read never writes, so a backtest that looks for stored sentiment leaves the database as
it found it. Writing to such a database is a StorageError naming `trading-ai db upgrade`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from adapters.storage import tables
from adapters.storage.engine import WRITE
from adapters.storage.repositories import _insert
from domain.sentiment import ScoredPost, SentimentReading
from ports.errors import StorageError

posts_t = tables.sentiment_posts
scores_t = tables.sentiment_scores


class SqlSentimentStore:
    def __init__(self, url_or_engine: str | sa.Engine, now_ms: Callable[[], int]) -> None:
        self.engine = sa.create_engine(url_or_engine) if isinstance(url_or_engine, str) else url_or_engine
        self.now_ms = now_ms
        self._writer = self.engine.execution_options(**{WRITE: True})
        self._present: bool | None = None

    def present(self) -> bool:
        """Whether the schema holds the sentiment tables (looked up once)."""
        if self._present is None:
            try:
                names = set(sa.inspect(self.engine).get_table_names())
            except SQLAlchemyError as exc:
                raise StorageError(f"cannot read the database schema: {exc}") from exc
            self._present = {posts_t.name, scores_t.name} <= names
        return self._present

    def _writable(self) -> None:
        if not self.present():
            raise StorageError("the database has no sentiment tables; run `trading-ai db upgrade` first")

    def add_posts(self, posts: Sequence[ScoredPost]) -> int:
        if not posts:
            return 0
        self._writable()
        now = self.now_ms()
        rows = [
            {
                "source": p.source,
                "post_id": p.post_id,
                "pair": p.pair,
                "created_at": p.created_at_ms,
                "score": p.score,
                "title": p.title[:2000],
                "fetched_at": now,
            }
            for p in posts
        ]
        try:
            with self._writer.begin() as conn:
                res = conn.execute(
                    _insert(conn, posts_t)
                    .on_conflict_do_nothing(index_elements=[posts_t.c.source, posts_t.c.post_id, posts_t.c.pair])
                    .returning(posts_t.c.id),
                    rows,
                )
                return len(res.fetchall())
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot store sentiment posts: {exc}") from exc

    def posts(self, pair: str, start_ms: int, end_ms: int) -> list[ScoredPost]:
        q = (
            sa.select(
                posts_t.c.source,
                posts_t.c.post_id,
                posts_t.c.pair,
                posts_t.c.created_at,
                posts_t.c.score,
                posts_t.c.title,
            )
            .where(posts_t.c.pair == pair, posts_t.c.created_at >= start_ms, posts_t.c.created_at < end_ms)
            .order_by(posts_t.c.created_at, posts_t.c.source, posts_t.c.post_id)
        )
        if not self.present():
            return []
        try:
            with self.engine.connect() as conn:
                return [
                    ScoredPost(r.source, r.post_id, r.pair, int(r.created_at), float(r.score), r.title)
                    for r in conn.execute(q)
                ]
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read sentiment posts: {exc}") from exc

    def record_reading(self, source: str, reading: SentimentReading) -> None:
        values = {"score": reading.score, "coverage": reading.coverage, "window_ms": reading.window_ms}
        self._writable()
        try:
            with self._writer.begin() as conn:
                conn.execute(
                    _insert(conn, scores_t)
                    .values(source=source, pair=reading.pair, at=reading.at_ms, **values)
                    .on_conflict_do_update(
                        index_elements=[scores_t.c.pair, scores_t.c.at, scores_t.c.source], set_=values
                    )
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot store a sentiment reading: {exc}") from exc

    def readings(self, pair: str) -> list[tuple[str, SentimentReading]]:
        q = sa.select(scores_t).where(scores_t.c.pair == pair).order_by(scores_t.c.at, scores_t.c.source)
        if not self.present():
            return []
        with self.engine.connect() as conn:
            return [
                (
                    r.source,
                    SentimentReading(
                        r.pair,
                        int(r.at),
                        None if r.score is None else float(r.score),
                        int(r.coverage),
                        int(r.window_ms),
                    ),
                )
                for r in conn.execute(q)
            ]

    def history(self, pair: str | None = None) -> tuple[int, int, int] | None:
        q = sa.select(sa.func.min(posts_t.c.created_at), sa.func.max(posts_t.c.created_at), sa.func.count())
        if pair is not None:
            q = q.where(posts_t.c.pair == pair)
        if not self.present():
            return None
        try:
            with self.engine.connect() as conn:
                lo, hi, n = conn.execute(q).one()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot read sentiment history: {exc}") from exc
        return None if not n else (int(lo), int(hi), int(n))
