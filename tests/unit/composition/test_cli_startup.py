"""Building the CLI parser (every `trading-ai` call, `--help` and `config show` included) must not load
the heavy libraries: each costs from a tenth of a second (sqlalchemy) to seconds (torch, ccxt).
Command handlers import what they use when they run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HEAVY = (
    "torch",
    "ccxt",
    "sqlalchemy",
    "pandas",
    "pyarrow",
    "aiohttp",
    "dependency_injector",
    "telegram",
    "metaapi_cloud_sdk",
    "lightgbm",
    "sklearn",
    "alembic",
    "rich",
    "training",
)


def _loaded_after(code: str) -> list[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    return sorted(loaded & set(HEAVY))


@pytest.mark.parametrize(
    "code",
    [
        "import composition.cli",
        "import composition.cli as c; c.build_parser()",
        # the handler of `config show` runs too (config, logging, seeding), so the whole command is covered
        "import contextlib, io, composition.cli as c\n"
        "with contextlib.redirect_stdout(io.StringIO()): assert c.main(['config', 'show']) == 0",
    ],
)
def test_cli_start_does_not_import_heavy_libraries(code: str) -> None:
    assert _loaded_after(code) == []


def test_probe_detects_a_heavy_import() -> None:
    # the check above can fail: a module that does load one is reported
    assert _loaded_after("import composition.containers") == ["dependency_injector"]
