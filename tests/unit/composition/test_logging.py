"""Structured JSON logs with the mode on every line and secrets redacted wherever they appear."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from composition.config import load_config
from composition.logging_setup import configure_logging, set_log_mode
from composition.redaction import redact_text


def _log_to_buffer(environ: dict[str, str]) -> tuple[logging.Logger, io.StringIO]:
    cfg = load_config(env_file=None, environ={"LOG_FORMAT": "json", **environ})
    buf = io.StringIO()
    return configure_logging(cfg, mode="dryrun", stream=buf), buf


def test_one_json_object_per_line_with_mode_and_context() -> None:
    log, buf = _log_to_buffer({})
    log.info("signal_emitted", extra={"ctx": {"pair": "BTC/USDT", "tier": "HIGH", "conf": 0.71}})
    log.warning("block", extra={"ctx": {"reason": "rate_limit"}})
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["event"] == "signal_emitted"
    assert first["mode"] == "dryrun"
    assert first["level"] == "info"
    assert first["pair"] == "BTC/USDT" and first["conf"] == 0.71
    assert "ts" in first


def test_secrets_from_config_never_reach_the_log() -> None:
    log, buf = _log_to_buffer({"TELEGRAM_BOT_TOKEN": "123456:SECRETSECRET", "SHIM_TOKEN": "shim-token-xyz"})
    log.info(
        "calling",
        extra={
            "ctx": {
                "url": "https://api.telegram.org/bot123456:SECRETSECRET/getMe",
                "headers": "Authorization: Bearer shim-token-xyz",
            }
        },
    )
    log.error("boom with shim-token-xyz in the text")
    out = buf.getvalue()
    assert "SECRETSECRET" not in out
    assert "shim-token-xyz" not in out


def test_patterns_catch_secrets_that_are_not_in_config() -> None:
    assert "s3cr3t" not in redact_text("postgresql://user:s3cr3t@host/db")
    assert "ABCDEFGHIJKLMNOP" not in redact_text("bot987654321:ABCDEFGHIJKLMNOP/sendMessage")
    assert "abc123xyz" not in redact_text("api_key=abc123xyz&x=1")
    assert "tok.en-value" not in redact_text("Authorization: Bearer tok.en-value")
    assert redact_text("ordinary text, price 105000.5") == "ordinary text, price 105000.5"


def test_set_log_mode_retags_every_following_line_on_every_handler(tmp_path: Path) -> None:
    log, buf = _log_to_buffer({"LOG_FILE": str(tmp_path / "run.jsonl")})
    log.info("before")
    set_log_mode(log, "replay")  # what a replay does first: its lines are never a dry-run's
    log.info("after")
    for handler in list(log.handlers):
        handler.close()
        log.removeHandler(handler)
    for text in (buf.getvalue(), (tmp_path / "run.jsonl").read_text()):
        assert [json.loads(x)["mode"] for x in text.splitlines()] == ["dryrun", "replay"]
