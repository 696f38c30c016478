"""Paper trading works without the `[metaapi]` extra: a replayed dry-run on the paper broker runs with
`metaapi_cloud_sdk` made unimportable, and never tries to import it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT.parent / "shared" / "data" / "candles" / "binance"

PROBE = """
import sys
sys.modules["metaapi_cloud_sdk"] = None  # as if the extra were not installed: any import raises ImportError
from composition.cli import main
assert main(["--env-file", "", "db", "upgrade"]) == 0
rc = main(["--env-file", "", "run", "--replay-from", "2025-10-01", "--cycles", "3", "--no-health",
           "--cost-model", "fixed", "--spread-bps", "2", "--slippage-bps", "1", "--broker", "paper"])
print("RC", rc)
"""


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_paper_replay_runs_without_metaapi(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING_AI_", "BROKER", "METAAPI"))}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'p.sqlite3'}",
            "DATA_DIR": str(tmp_path / "data"),
            "CANDLES_DIR": str(DATA),
            "LOG_FILE": str(tmp_path / "log.jsonl"),
        }
    )
    res = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert res.returncode == 0 and "RC 0" in res.stdout, res.stderr[-3000:]
    assert "metaapi" not in res.stderr.lower()
