"""A migrated SQLite database for tests that run the runtime: it refuses a schema that is not the code's
head (only `trading-ai db upgrade` and the demo migrate), so a test prepares one as a user would."""

from __future__ import annotations

from pathlib import Path

from adapters.storage import migrate


def migrated_sqlite_url(path: Path) -> str:
    url = f"sqlite:///{path}"
    migrate.upgrade(url)
    return url
