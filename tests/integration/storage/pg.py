"""PostgreSQL for tests: the server from TRADING_AI_TEST_PG_URL, isolated in throwaway schemas.

Without a server the PG tests skip with the reason shown (`-ra`); with TRADING_AI_REQUIRE_PG=1
(set by .ci/run) they fail instead. Every schema is `test_<random>` and is dropped afterwards, so
parallel runs on one server never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def base_url() -> str:
    return os.environ.get("TRADING_AI_TEST_PG_URL", DEFAULT_PG_URL)


def _driver_url(url: str) -> sa.URL:
    u = make_url(url)
    return u.set(drivername="postgresql+psycopg") if u.drivername in ("postgresql", "postgres") else u


@cache
def unavailable_reason() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install '.[pg]')"
    engine = sa.create_engine(_driver_url(base_url()), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return f"PostgreSQL at {make_url(base_url()).render_as_string(hide_password=True)} not reachable: {first}"
    finally:
        engine.dispose()
    return None


def require_pg() -> None:
    """Skip (or fail under TRADING_AI_REQUIRE_PG=1) when no server answers."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("TRADING_AI_REQUIRE_PG") == "1":
        pytest.fail(f"TRADING_AI_REQUIRE_PG=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def in_schema(url: str, schema: str) -> str:
    """The URL with every connection's search_path set to `schema`."""
    u = _driver_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return u.render_as_string(hide_password=False)


@contextmanager
def fresh_schema(prefix: str = "test") -> Iterator[str]:
    """A URL working in a new empty schema, dropped (with everything in it) on exit."""
    require_pg()
    schema = f"{prefix}_{secrets.token_hex(6)}"
    admin = sa.create_engine(_driver_url(base_url()))
    try:
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        yield in_schema(base_url(), schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


_shared: dict[str, str] = {}


def shared_schema_url() -> str:
    """A migrated schema shared by this process's contract tests, dropped when the process exits."""
    require_pg()
    if "url" not in _shared:
        import atexit

        from adapters.storage import migrate

        schema = f"test_{secrets.token_hex(6)}"
        admin = sa.create_engine(_driver_url(base_url()))
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

        def _drop() -> None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()

        atexit.register(_drop)
        url = in_schema(base_url(), schema)
        migrate.upgrade(url)
        _shared["url"] = url
    return _shared["url"]
