"""The seeded CI smoke config (configs/ci-smoke.toml) run as a user runs it: `python -m composition`
in the repository root on the real candles, in a clean environment (PATH, the candles and what the
test adds)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "candles" / "binance"
SMOKE = ROOT / "configs" / "ci-smoke.toml"


def smoke_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "composition", "--config", str(SMOKE), "--env-file", "", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={"PATH": "/usr/bin:/bin", "CANDLES_DIR": str(DATA), **(env or {})},
        check=False,
    )
