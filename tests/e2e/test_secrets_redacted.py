"""No configured secret leaves a run: every table row, log line, printed table, summary and file the run
writes is scanned for each secret value (issue 20). The database URL carries a password (PostgreSQL
with trust auth accepts and ignores it), the other secrets come from the environment as in production."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from adapters.storage import migrate
from tests.integration.storage.pg import fresh_schema

SECRETS = {
    "TELEGRAM_BOT_TOKEN": "123456789:AAHsecretTelegramTokenValue_9x",
    "SHIM_TOKEN": "shim-secret-token-7Qz",
    "METAAPI_TOKEN": "metaapi-secret-token-4Kp",
    "MT5_PASSWORD": "mt5-secret-pass-8Lw",
    "MT5_READONLY_PASSWORD": "mt5-ro-secret-pass-2Vn",
}
DB_PASSWORD = "Pg-S3cret-pass-5Hd"


def test_a_run_never_shows_a_configured_secret(tmp_path: Path) -> None:
    with fresh_schema("secrets") as url:
        migrate.upgrade(url)
        secret_url = make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_AI_")}
        for k in ("LIVE_CONFIRM", "BROKER", "KILL_SWITCH"):
            env.pop(k, None)
        env.update(SECRETS)
        env.update(
            {
                "DATABASE_URL": secret_url,
                "LOG_FILE": str(tmp_path / "logs" / "run.jsonl"),
                "DATA_DIR": str(tmp_path / "data"),
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "DEBUG",
                "TELEGRAM_ALLOWED_CHAT_IDS": "42",
            }
        )
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "composition",
                "run",
                "--replay-from",
                "2025-10-01",
                "--cycles",
                "10",
                "--cost-model",
                "fixed",
                "--spread-bps",
                "2",
                "--slippage-bps",
                "1",
                "--no-health",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        assert res.returncode == 0, res.stderr[-3000:]
        assert "run:" in res.stdout and "database" in res.stdout  # the summary table was printed
        engine = sa.create_engine(make_url(url).set(drivername="postgresql+psycopg"))
        try:
            with engine.connect() as conn:
                names = sa.inspect(conn).get_table_names()
                rows = [
                    f"{name}: {tuple(r)}" for name in names for r in conn.execute(sa.text(f'SELECT * FROM "{name}"'))
                ]
        finally:
            engine.dispose()
    assert any(r.startswith("signal_log") for r in rows)  # the run wrote rows: the scan below means something
    texts = {"stdout": res.stdout, "stderr": res.stderr, "database rows": "\n".join(rows)}
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name == "run.jsonl" for p in files)
    for p in files:
        texts[str(p.relative_to(tmp_path))] = p.read_bytes().decode("utf-8", errors="replace")
    for where, text in texts.items():
        for name, value in [*SECRETS.items(), ("database password", DB_PASSWORD)]:
            assert value not in text, f"{name} appears in {where}"
    assert "***" in res.stdout  # the URL is shown, its password masked
