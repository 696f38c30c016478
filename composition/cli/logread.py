"""Reading the service's JSON log lines back (export, observe report)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from domain.errors import UserError


def event_ms(e: dict[str, Any]) -> int:
    """The event's own time: `at_ms` (market time, also in replays) when present, else the log stamp."""
    at = e.get("at_ms")
    if isinstance(at, int):
        return at
    return int(datetime.fromisoformat(e["ts"]).timestamp() * 1000)


def read_events(path: str | Path) -> Iterator[dict[str, Any]]:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"log file {p} not found; set LOG_FILE (or pass --log) to the service's JSON log")
    rotated = sorted(p.parent.glob(p.name + ".*"), key=lambda x: x.stat().st_mtime)
    for f in [*rotated, p]:
        if f.suffix == ".gz":
            continue  # compressed rotations are out of the observation window by construction
        with f.open(encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if line.startswith("{"):
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError:
                        continue


def log_path(arg: str | None, config_file: str) -> Path:
    path = arg or config_file
    if not path:
        raise UserError("no log file: set LOG_FILE for the service or pass --log PATH")
    return Path(path)
