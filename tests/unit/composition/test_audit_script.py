"""infra/scripts/audit.py (`make audit`): its verdict on pip-audit's JSON report. A stand-in pip-audit
writes each report (the real one needs a reachable vulnerability database, which CI may not have)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "infra" / "scripts"))
import audit  # noqa: E402


def _fake(tmp: Path, report: dict[str, Any] | None) -> str:
    """A pip-audit that writes `report` where -o says (None: it fails like an unreachable service)."""
    script = tmp / "pip-audit"
    body = (
        (f"import json, sys\nout = sys.argv[sys.argv.index('-o') + 1]\njson.dump({report!r}, open(out, 'w'))\n")
        if report is not None
        else "import sys\nprint('ConnectionError: Failed to resolve api.osv.dev', file=sys.stderr)\nsys.exit(1)\n"
    )
    script.write_text(f"#!{sys.executable}\n{body}")
    script.chmod(0o755)
    return str(script)


@pytest.mark.parametrize(
    ("report", "code", "words"),
    [
        (None, 3, ["NOT AUDITED", "could not query", "Failed to resolve"]),
        (
            {
                "dependencies": [
                    {"name": "a", "version": "1", "skip_reason": "not found"},
                    {"name": "b", "version": "2", "skip_reason": "not found"},
                ]
            },
            3,
            ["NOT AUDITED", "no vulnerability database is reachable", "none of the 2 pins"],
        ),
        (
            {
                "dependencies": [
                    {"name": "a", "version": "1", "vulns": []},
                    {"name": "b", "version": "2", "skip_reason": "not found"},
                ]
            },
            3,
            ["1 of 2 pins", "NOT AUDITED (1): b"],
        ),
        (
            {"dependencies": [{"name": "a", "version": "1", "vulns": [{"id": "PYSEC-1", "fix_versions": ["1.1"]}]}]},
            1,
            ["VULNERABLE a 1: PYSEC-1 (fixed in 1.1)"],
        ),
        (
            {"dependencies": [{"name": "a", "version": "1", "vulns": []}]},
            0,
            ["1 of 1 pins", "no known vulnerabilities"],
        ),
    ],
)
def test_verdict(tmp_path: Path, report: dict[str, Any] | None, code: int, words: list[str]) -> None:
    got, text = audit.audit(ROOT / "requirements.lock", "osv", 5, _fake(tmp_path, report))
    assert got == code, text
    for w in words:
        assert w in text
