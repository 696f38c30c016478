"""Alembic environment for trading-ai.

Run through `trading-ai db upgrade|downgrade|current` (adapters/storage/migrate.py builds the
config programmatically from DATABASE_URL, so any working directory works), or with plain
`alembic` from the repository root, which reads alembic.ini and DATABASE_URL from the environment.
A caller may hand over an open connection in `config.attributes["connection"]`.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from adapters.storage.engine import create_engine_for
from adapters.storage.tables import metadata

config = context.config
if config.config_file_name is not None:  # plain `alembic` on the command line
    fileConfig(config.config_file_name, disable_existing_loggers=False)
target_metadata = metadata


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL", "")
    if not url:
        raise SystemExit("no database URL: set DATABASE_URL or sqlalchemy.url")
    return url


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection: Connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection: Connection | None = config.attributes.get("connection")  # handed over by the caller, if any
    if connection is not None:
        _run(connection)
        return
    engine = create_engine_for(_url())
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
