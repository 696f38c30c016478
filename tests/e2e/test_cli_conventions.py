"""CLI conventions as a user meets them: --version, --json (stdout is one JSON document), exit codes
(0 success, 1 a FAIL verdict, 2 a user mistake), shell completion."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.smoke_cli import DATA, smoke_cli

ROOT = Path(__file__).resolve().parents[2]


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from composition.cli import main
    from composition.cli.output import version

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"trading-ai {version()}" and version()[0].isdigit()


def test_models_list_json_on_an_empty_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from composition.cli import main

    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "m"))
    assert main(["--env-file", "", "models", "list", "--json"]) == 0
    out = capsys.readouterr()
    doc = json.loads(out.out)
    assert doc["models"] == [] and doc["current"] is None
    assert "no models registered" in out.err  # the human line moved to stderr


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_backtest_json_is_one_document_and_the_report_is_self_contained(tmp_path: Path) -> None:
    res = smoke_cli("backtest", "--json", env={"TRADING_AI_BACKTEST_REPORTS_DIR": str(tmp_path)}, timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads(res.stdout)  # what `trading-ai backtest --json | python -m json.tool` needs
    on_disk = json.loads((tmp_path / "ci-smoke" / "summary.json").read_text())
    assert doc["summary"] == on_disk and doc["summary"]["trades"] > 0
    assert "Backtest:" in res.stderr  # the table went to stderr
    page = Path(doc["report"]).read_text(encoding="utf-8")
    assert "<script src=" not in page and "cdn" not in page.split("<script>", 1)[0].lower()
    assert page.count('class="plotly-figure"') >= 6 and "Plotly.newPlot" in page


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_a_failed_challenge_gate_exits_1_and_writes_its_report(tmp_path: Path) -> None:
    res = smoke_cli(
        "challenge",
        "simulate",
        "--runs",
        "3",
        "--json",
        env={"TRADING_AI_BACKTEST_REPORTS_DIR": str(tmp_path)},
        timeout=240,
    )
    doc = json.loads(res.stdout)
    # two weeks that end in a total-floor halt cannot pass a 70% pass-rate gate
    assert doc["verdict"] == "FAIL" and res.returncode == 1, res.stderr[-1500:]
    assert all(len(m["attempts"]) == m["runs"] for m in doc["methods"].values())
    report = Path(doc["report"]).read_text(encoding="utf-8")
    assert report.count('"meta":"attempt"') == sum(m["runs"] for m in doc["methods"].values())


def test_a_user_mistake_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from composition.cli import main

    assert main(["--env-file", "", "backtest", "--periods", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--periods" in err


@pytest.mark.skipif(shutil.which("bash") is None, reason="no bash")
def test_bash_completion_completes_commands_and_options(tmp_path: Path) -> None:
    from composition.cli import build_parser
    from composition.cli.completion import bash_script

    script = tmp_path / "c.sh"
    script.write_text(bash_script(build_parser()))
    probe = (
        'source "$1"; COMP_WORDS=(trading-ai backtest --js); COMP_CWORD=2; _trading_ai; echo "${COMPREPLY[@]}"; '
        'COMP_WORDS=(trading-ai models l); COMP_CWORD=2; _trading_ai; echo "${COMPREPLY[@]}"'
    )
    out = subprocess.run(
        ["bash", "-c", probe, "bash", str(script)], capture_output=True, text=True, timeout=30, check=True
    ).stdout.splitlines()
    assert out == ["--json", "list"]
