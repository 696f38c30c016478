"""Alembic driven programmatically: no alembic.ini or working directory needed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError

from adapters.storage.engine import (
    MIGRATIONS_DIR,
    create_engine_for,
    current_revision,
    head_revision,
    script_directory,
    sqlite_path,
    unreadable,
)
from domain.errors import UserError


class MigrationError(UserError):
    """A revision name that does not exist, or a migration step that failed."""


def alembic_config(connection: sa.Connection, out: io.StringIO | None = None) -> Config:
    cfg = Config(stdout=out or io.StringIO())
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def _connection(url: str) -> Iterator[sa.Connection]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            yield conn
            conn.commit()
    except sa.exc.DBAPIError as exc:
        raise unreadable(url, exc) from None
    finally:
        engine.dispose()


def _known(rev: str) -> None:
    if rev in ("head", "base", "heads") or rev.startswith(("+", "-")):
        return
    try:
        script_directory().get_revision(rev)
    except CommandError:
        raise MigrationError(f"unknown revision {rev!r}; known: {', '.join(revisions())}, head, base") from None
    except Exception as exc:  # alembic raises several types for malformed ids
        raise MigrationError(f"unknown revision {rev!r}: {exc}") from None


def upgrade(url: str, revision: str = "head") -> tuple[str | None, str | None]:
    """Upgrade to `revision`; returns (before, after)."""
    _known(revision)
    with _connection(url) as conn:
        before = current_revision(conn)
        command.upgrade(alembic_config(conn), revision)
        after = current_revision(conn)
    return before, after


def downgrade(url: str, revision: str) -> tuple[str | None, str | None]:
    """Downgrade to `revision` (`base` drops every table); returns (before, after)."""
    _known(revision)
    with _connection(url) as conn:
        before = current_revision(conn)
        command.downgrade(alembic_config(conn), revision)
        after = current_revision(conn)
    return before, after


def current(url: str) -> str | None:
    """The database's revision; None for an empty database or a SQLite file that does not exist yet."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return None
    with _connection(url) as conn:
        return current_revision(conn)


def head() -> str:
    return head_revision()


def revisions() -> list[str]:
    """Revision ids from base to head."""
    return [rev.revision for rev in reversed(list(script_directory().walk_revisions()))]
