"""Alembic migrations on a real SQLite file and a real PostgreSQL schema; the outdated-schema gate."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from adapters.storage import migrate
from adapters.storage.engine import SchemaOutdated, create_engine_for, open_engine
from adapters.storage.tables import metadata
from adapters.storage.unit_of_work import SqlStorage
from domain.errors import UserError
from ports.errors import StaleSchema

ROOT = Path(__file__).resolve().parents[3]
APP_TABLES = {t.name for t in metadata.sorted_tables}


def _tables(url: str) -> set[str]:
    engine = create_engine_for(url)
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _drift(url: str) -> list[object]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata))
    finally:
        engine.dispose()


def test_upgrade_downgrade_base_upgrade_round_trip(empty_db_url: str) -> None:
    url = empty_db_url
    assert migrate.upgrade(url) == (None, migrate.head())
    assert _tables(url) == APP_TABLES
    assert _drift(url) == [], "migrations and adapters/storage/tables.py disagree"
    assert migrate.downgrade(url, "base") == (migrate.head(), None)
    assert _tables(url) == set()
    assert migrate.upgrade(url) == (None, migrate.head())
    assert _tables(url) == APP_TABLES
    assert _drift(url) == []


def test_each_step_down_and_up_again(empty_db_url: str) -> None:
    url = empty_db_url
    revs = migrate.revisions()
    assert len(revs) >= 2
    migrate.upgrade(url)
    for rev in reversed(revs[:-1]):
        assert migrate.downgrade(url, rev)[1] == rev
        assert migrate.current(url) == rev
    migrate.upgrade(url, revs[0])
    assert migrate.current(url) == revs[0]
    assert "signal_log" not in _tables(url) and "risk_book" in _tables(url)
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head()


def test_opening_an_outdated_schema_is_refused_naming_the_command(empty_db_url: str) -> None:
    url = empty_db_url
    with pytest.raises(SchemaOutdated, match=r"trading-ai db upgrade") as no_schema:
        SqlStorage.open(url)
    assert isinstance(no_schema.value, UserError) and isinstance(no_schema.value, StaleSchema)
    migrate.upgrade(url, migrate.revisions()[0])
    with pytest.raises(SchemaOutdated, match=rf"revision 0001 .*needs {migrate.head()}.*trading-ai db upgrade"):
        SqlStorage.open(url)
    migrate.upgrade(url)
    open_engine(url).dispose()


def test_a_database_ahead_of_the_code_is_refused(empty_db_url: str) -> None:
    migrate.upgrade(empty_db_url)
    engine = create_engine_for(empty_db_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = 'ffff9999'"))
    engine.dispose()
    with pytest.raises(SchemaOutdated, match="does not know"):
        SqlStorage.open(empty_db_url)


def test_repositories_on_a_dropped_table_raise_stale_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    migrate.upgrade(url)
    storage = SqlStorage.open(url)
    with storage.engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE patterns"))
    with pytest.raises(StaleSchema, match="trading-ai db upgrade"):
        storage.patterns.all()
    storage.close()


def test_unknown_revision_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="unknown revision 'nope'"):
        migrate.upgrade(f"sqlite:///{tmp_path / 'y.sqlite3'}", "nope")


def _cli(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_AI_")}
    env["DATABASE_URL"] = url
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "composition", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_upgrade_downgrade_base_upgrade_from_another_directory(
    empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from composition.cli import main

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("TRADING_AI_DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    head = migrate.head()
    steps = [
        (("db", "current"), "current base"),
        (("db", "upgrade"), f"base -> {head}"),
        (("db", "current"), f"current {head}, head {head} (up to date)"),
        (("db", "downgrade", "base"), f"{head} -> base"),
        (("db", "upgrade"), f"base -> {head}"),
    ]
    for args, expected in steps:
        assert main(list(args)) == 0
        out = capsys.readouterr().out
        assert expected in out, (args, out)
    assert _tables(empty_db_url) == APP_TABLES
    assert list(elsewhere.iterdir()) == []


def test_cli_outdated_schema_is_one_line_exit_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrate.upgrade(url, "0001")
    res = _cli(url, "db", "archive", "--dry-run", cwd=tmp_path)
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "trading-ai db upgrade" in lines[0], res.stderr
    assert "Traceback" not in res.stderr


def test_ensemble_model_versions_and_long_ids_fit_on_both_engines(db_url: str) -> None:
    from domain.risk_book import TradeRecord
    from domain.signals import Tier

    versions = ",".join(f"{m}:v1.2.0-20261125T120000-{'a' * 40}" for m in ("lstm", "transformer", "lightgbm"))
    assert 200 < len(versions) <= 255
    sid = "BTCUSDT-" + "9" * 100 + "-long"
    storage = SqlStorage.open(db_url)
    rec = TradeRecord(sid, "BTC/USDT", Tier.LOW, 1, 100.0, 101.0, 99.0, 1.0, model_version=versions)
    storage.risk_book.add(rec)
    assert storage.risk_book.get(sid) == rec
    storage.close()
