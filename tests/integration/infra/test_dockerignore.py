"""The Docker build context keeps what the Dockerfile copies and nothing heavy or secret."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def _ignored(rel: str, patterns: list[str]) -> bool:
    out = False
    for pat in patterns:
        neg = pat.startswith("!")
        p = pat[1:] if neg else pat
        p = p.removeprefix("**/")
        parts = rel.split("/")
        if any(fnmatch.fnmatch("/".join(parts[: i + 1]), p) or fnmatch.fnmatch(parts[i], p) for i in range(len(parts))):
            out = not neg
    return out


def test_context_excludes_heavy_and_secret_paths_but_keeps_what_is_copied() -> None:
    patterns = [
        ln.strip() for ln in (ROOT / ".dockerignore").read_text().splitlines() if ln.strip() and not ln.startswith("#")
    ]
    for heavy in (
        ".venv/bin/python",
        ".git/objects/ab",
        "models/v1/lstm.pt",
        "reports/demo/report.html",
        "var/trading_ai.sqlite3",
        "data/raw/x.parquet",
        ".env",
        "domain/__pycache__/x.pyc",
    ):
        assert _ignored(heavy, patterns), heavy
    copied = re.findall(r"^COPY (?!--from)(\S+)", (ROOT / "Dockerfile").read_text(), flags=re.M)
    assert copied, "the Dockerfile copies something"
    for src in copied:
        assert not _ignored(src, patterns), src
        assert (ROOT / src).exists(), src
