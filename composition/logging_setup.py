"""Structured logs: one JSON object per line (ts, level, event, mode, context...), or a readable
console line on a TTY. Every record passes through the redactor before it is written.

Use `log.info("signal_emitted", extra={"ctx": {...}})`: the message is the event name and `ctx`
holds the fields.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from composition.config import Config, secret_values
from composition.redaction import redact_text, register_secrets

LOGGER_NAME = "trading_ai"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


class JsonFormatter(logging.Formatter):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "mode": getattr(record, "mode", self.mode),
        }
        ctx = getattr(record, "ctx", None)
        if isinstance(ctx, dict):
            payload.update(_jsonable(ctx))
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return redact_text(json.dumps(payload, separators=(",", ":"), default=str))


class ConsoleFormatter(logging.Formatter):
    def __init__(self, mode: str) -> None:
        super().__init__()
        self.mode = mode

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%H:%M:%S")
        ctx = getattr(record, "ctx", None)
        fields = " ".join(f"{k}={v}" for k, v in ctx.items()) if isinstance(ctx, dict) else ""
        line = f"{ts} {record.levelname:<7} [{getattr(record, 'mode', self.mode)}] {record.getMessage()} {fields}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact_text(line.rstrip())


def set_log_mode(log: logging.Logger, mode: str) -> None:
    """From now on every line of `log` carries `mode` (a replay's lines carry `replay`, not the dry-run's)."""
    for handler in log.handlers:
        if isinstance(handler.formatter, (JsonFormatter, ConsoleFormatter)):
            handler.formatter.mode = mode


class _LazyFileHandler(logging.FileHandler):
    """Opens (and creates the folder of) the log file at the first record, not before: a command that
    refuses before logging anything leaves no file behind."""

    def __init__(self, path: str) -> None:
        super().__init__(path, encoding="utf-8", delay=True)

    def _open(self) -> Any:
        from pathlib import Path

        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)
        return super()._open()


def configure_logging(config: Config, mode: str | None = None, stream: TextIO | None = None) -> logging.Logger:
    """(Re)configure the project logger; safe to call more than once."""
    mode = mode or config.mode
    register_secrets(secret_values(config))
    stream = stream or sys.stderr
    fmt = config.logging.format
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())
    log = logging.getLogger(LOGGER_NAME)
    for handler in list(log.handlers):
        log.removeHandler(handler)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(mode) if use_json else ConsoleFormatter(mode))
    handler.setLevel(config.logging.console_level or config.logging.level)
    log.addHandler(handler)
    if config.logging.file:
        file_handler = _LazyFileHandler(config.logging.file)
        file_handler.setFormatter(JsonFormatter(mode))
        log.addHandler(file_handler)
    log.setLevel(config.logging.level)
    log.propagate = False
    return log
