"""The seeded CI smoke backtest is bit-for-bit repeatable: two runs, identical summary.json bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.smoke_cli import DATA, smoke_cli


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_smoke_backtest_summary_is_byte_identical(tmp_path: Path) -> None:
    outs = []
    for k in range(2):
        env_reports = tmp_path / f"r{k}"
        proc = smoke_cli("backtest", "--timeframe", "5m", env={"TRADING_AI_BACKTEST_REPORTS_DIR": str(env_reports)})
        assert proc.returncode == 0, proc.stderr[-2000:]
        summary = env_reports / "ci-smoke" / "summary.json"
        html = env_reports / "ci-smoke" / "report.html"
        assert summary.is_file() and html.is_file()
        assert "plotly-figure" in html.read_text()  # the interactive report (plotly, inline)
        outs.append(summary.read_bytes())
    assert outs[0] == outs[1]
    assert b'"trades"' in outs[0]


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_a_backtest_before_db_upgrade_leaves_no_database_and_the_upgrade_then_works(tmp_path: Path) -> None:
    """A backtest only reads the database (stored sentiment, with the sentiment plugin on): on a fresh
    checkout it must not create one, least of all a bare file with a few tables that `db upgrade` then
    refuses ("table sentiment_posts already exists": seen after the CI suite, which broke `make demo`)."""
    db = tmp_path / "var" / "trading_ai.sqlite3"
    env = {"TRADING_AI_BACKTEST_REPORTS_DIR": str(tmp_path / "r"), "TRADING_AI_DATABASE_URL": f"sqlite:///{db}"}
    run = smoke_cli("backtest", env=env)
    assert run.returncode == 0, run.stderr[-2000:]
    assert not db.exists() and not db.parent.exists()
    up = smoke_cli("db", "upgrade", env=env)
    assert up.returncode == 0, up.stderr[-2000:]
    assert db.exists()
