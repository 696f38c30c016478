"""`trading-ai db`: schema migrations, retention archive, backup and restore of DATABASE_URL.

Works from any directory: alembic is configured in code (adapters/storage/migrate.py) and a
relative SQLite path resolves against the project root.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from composition.cli.context import Context
from composition.config import PROJECT_ROOT
from domain.errors import UserError

# Storage modules (sqlalchemy, alembic, pyarrow) load inside the handlers: `trading-ai --help` and
# the other command groups do not pay for them.
DEFAULT_RETENTION_DAYS = 90
DEFAULT_BACKUP_DIR = PROJECT_ROOT / "var" / "backups"
DEFAULT_ARCHIVE_DIR = PROJECT_ROOT / "var" / "archive"


def register(sub: Any) -> None:
    p = sub.add_parser("db", help="database schema, retention archive, backup and restore")
    inner = p.add_subparsers(dest="db_command", metavar="SUBCOMMAND", required=True)

    up = inner.add_parser("upgrade", help="migrate the schema up to REV (default: head)")
    up.add_argument("revision", nargs="?", default="head", metavar="REV")
    up.set_defaults(handler=_upgrade)

    down = inner.add_parser("downgrade", help="migrate the schema down to REV ('base' drops every table)")
    down.add_argument("revision", metavar="REV")
    down.set_defaults(handler=_downgrade)

    cur = inner.add_parser("current", help="show the schema revision of the database and the code's head")
    cur.set_defaults(handler=_current)

    arc = inner.add_parser("archive", help="move non-live rows older than the retention period to parquet")
    arc.add_argument(
        "--days",
        type=int,
        default=DEFAULT_RETENTION_DAYS,
        help=f"retention period in days (default {DEFAULT_RETENTION_DAYS})",
    )
    arc.add_argument("--out", type=Path, default=DEFAULT_ARCHIVE_DIR, help="archive directory (default var/archive)")
    arc.add_argument("--dry-run", action="store_true", help="only count what would be archived")
    arc.set_defaults(handler=_archive)

    bk = inner.add_parser("backup", help="back up the database (SQLite online backup / pg_dump)")
    bk.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_BACKUP_DIR,
        help="a directory for a time-stamped file, or a file path (default var/backups)",
    )
    bk.set_defaults(handler=_backup)

    rs = inner.add_parser("restore", help="replace the database with a backup FILE")
    rs.add_argument("file", type=Path, metavar="FILE")
    rs.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    rs.set_defaults(handler=_restore)


def _url(ctx: Context) -> str:
    return ctx.config.database.url


def _redacted(url: str) -> str:
    from adapters.storage.engine import redacted

    return redacted(url)


def _upgrade(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.storage import migrate

    before, after = migrate.upgrade(_url(ctx), args.revision)
    print(f"{_redacted(_url(ctx))}: {before or 'base'} -> {after or 'base'}")
    return 0


def _downgrade(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.storage import migrate

    before, after = migrate.downgrade(_url(ctx), args.revision)
    print(f"{_redacted(_url(ctx))}: {before or 'base'} -> {after or 'base'}")
    return 0


def _current(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.storage import migrate

    cur = migrate.current(_url(ctx))
    head = migrate.head()
    state = "up to date" if cur == head else "outdated: run `trading-ai db upgrade`"
    print(f"{_redacted(_url(ctx))}: current {cur or 'base'}, head {head} ({state})")
    return 0


def _archive(args: argparse.Namespace, ctx: Context) -> int:
    if args.days < 1:
        raise UserError(f"--days must be at least 1, got {args.days}")
    from rich.console import Console
    from rich.table import Table

    from adapters.storage.engine import open_engine
    from adapters.storage.retention import archive

    engine = open_engine(_url(ctx))
    try:
        report = archive(
            engine, now_ms=time.time_ns() // 1_000_000, out_dir=args.out, days=args.days, dry_run=args.dry_run
        )
    finally:
        engine.dispose()
    table = Table(title=f"rows older than {args.days} days, non-live" + (" (dry run)" if args.dry_run else ""))
    table.add_column("table")
    table.add_column("rows", justify="right")
    table.add_column("archive", overflow="fold")
    for item in report:
        table.add_row(item.table, str(item.rows), item.path or "-")
    Console().print(table)
    return 0


def _backup(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.storage import backup as backups

    out = backups.backup(_url(ctx), args.out)
    print(out)
    return 0


def _restore(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.storage import backup as backups
    from adapters.storage import migrate

    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError("restore replaces the whole database; pass --yes to confirm")
        answer = input(f"Replace {_redacted(_url(ctx))} with {args.file}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("restore cancelled")
            return 1
    saved = backups.restore(_url(ctx), args.file)
    if saved is not None:
        print(f"previous database saved to {saved}")
    cur, head = migrate.current(_url(ctx)), migrate.head()
    hint = "" if cur == head else "; run `trading-ai db upgrade`"
    print(f"restored {args.file} into {_redacted(_url(ctx))} (revision {cur or 'base'}, head {head}{hint})")
    return 0
