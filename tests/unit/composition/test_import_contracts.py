"""The import-linter contracts hold, and they bite: a planted forbidden import breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("domain", "ports", "services", "adapters", "training", "plugins", "composition")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _copy_tree(dest: Path) -> None:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "importlinter.ini", dest / "importlinter.ini")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [str(LINT_IMPORTS), "importlinter.ini", "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not LINT_IMPORTS.exists():
        pytest.fail("lint-imports is not installed in this environment (install the dev extra)")
    dest = tmp_path_factory.mktemp("lint")
    _copy_tree(dest)
    return dest


def test_contracts_are_kept_on_the_real_tree(tree: Path) -> None:
    res = _lint(tree)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("domain/_planted_leak.py", "import pandas\n", "The domain imports no frameworks"),
        ("domain/_planted_upward.py", "import services\n", "Hexagon layers"),
        ("services/_planted_adapter.py", "import adapters.mocks\n", "Hexagon layers"),
        ("training/_planted_sibling.py", "import adapters.mocks\n", "Hexagon layers"),
    ],
)
def test_a_planted_violation_breaks_the_contract(tree: Path, module: str, source: str, contract: str) -> None:
    planted = tree / module
    planted.write_text(source)
    try:
        res = _lint(tree)
    finally:
        planted.unlink()
    assert res.returncode != 0
    assert "BROKEN" in res.stdout
    assert contract in res.stdout


def test_a_command_module_importing_another_breaks_the_thin_cli_contract(tree: Path) -> None:
    """`models` reaching into `train` (as it once did for load_candles) is a broken contract: shared
    code lives in composition.model_choice / composition.training_inputs / the CLI helper modules."""
    module = tree / "composition" / "cli" / "models.py"
    original = module.read_text()
    module.write_text(original + "\nfrom composition.cli.train import register as _planted\n")
    try:
        res = _lint(tree)
    finally:
        module.write_text(original)
    assert res.returncode != 0
    assert "BROKEN" in res.stdout
    assert "CLI command modules do not import each other" in res.stdout
    assert "composition.cli.models is not allowed to import composition.cli.train" in res.stdout
