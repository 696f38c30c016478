"""`trading-ai research` as a user runs it, on the real candles (a one-horizon slice of the quick
grid so the test stays short), and the grid verdict's rules on synthetic cells."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from composition.cli import main
from domain.multiple_testing import mean_test
from services.research import Cell, GridSpec, correct_grid


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    return tmp_path


def test_quick_research_prints_intervals_and_the_corrected_verdict(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [
        "--env-file",
        "",
        "research",
        "--quick",
        "--symbols",
        "ETH",
        "--horizons",
        "1d",
        "--workers",
        "1",
        "--cost-model",
        "fixed",
        "--spread-bps",
        "6",
        "--slippage-bps",
        "2",
        "--markdown",
        str(env / "r.md"),
    ]
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr()
    report = json.loads(out.out)
    assert "cleaned store lacked ETH/USDT 1h" in out.err  # the one data path: imported, then read from the store
    rows = report["rows"]
    assert report["cells"] == len(rows) == 3 * 5  # ETH x 1h x 1d x {direction, barrier, meta} x 5 models
    assert {r["label"] for r in rows} == {"direction", "barrier", "meta"}
    assert {r["model"] for r in rows} == {"majority", "persistence", "momentum", "logistic", "lightgbm"}
    for r in rows:
        assert r["n_test"] > 1000 and r["leakage_ok"], r
        lo, hi = r["accuracy_ci"]
        assert lo < r["accuracy"] < hi
        assert r["bh_adjusted_p"] >= r["p_one_sided"] - 1e-12
        if r["trades"] >= 2:
            assert r["expectancy_ci_bps"][0] < r["expectancy_bps"] < r["expectancy_ci_bps"][1]
    # the product's baseline trades through the engine: its cells have trades, costs and a verdict
    mom = next(r for r in rows if r["model"] == "momentum" and r["label"] == "direction")
    assert mom["trades"] > 0 and mom["cost_bps"] > 0
    assert report["verdict"].startswith(("no edge", f"{len(report['passing'])} of"))
    assert (env / "r.md").read_text().count("\n| ETH |") == 15
    assert list((env / "runs" / "research").glob("research_quick_*.json"))


def test_an_unknown_horizon_is_one_line_exit_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--env-file", "", "research", "--quick", "--horizons", "2h"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "valid: 15m, 1h, 4h, 1d" in err[0]


def _cell(model: str, acc: float, bps: list[float], label: str = "direction") -> Cell:
    nan = float("nan")
    return Cell(
        "ETH/USDT",
        "1h",
        240,
        4,
        label,
        model,
        5000,
        0.5,
        acc,
        (acc - 0.01, acc + 0.01),
        0.5,
        (nan, nan),
        (acc,),
        (),
        500,
        0.7,
        0.1,
        len(bps),
        mean_test(bps),
        nan,
        nan,
        (),
        10.0,
        True,
        "ok",
        30,
        (0, 1),
    )


def test_a_lucky_cell_is_not_an_edge_and_a_too_good_one_is_suspect() -> None:
    spec = GridSpec(min_trades=100)
    strong = [20.0 + (i % 7) for i in range(300)]  # SYNTHETIC: clearly positive trades
    noise = [(-1) ** i * 30.0 + 1.0 for i in range(300)]  # SYNTHETIC: mean +1, p ~ 0.3
    cells = [
        _cell("majority", 0.51, []),
        _cell("persistence", 0.51, []),
        _cell("momentum", 0.50, noise),
        _cell("logistic", 0.52, strong),
        _cell("lightgbm", 0.71, strong),
    ]
    cells += [_cell("logistic", 0.51, noise, label="barrier") for _ in range(20)]
    verdicts, selected = correct_grid(cells, spec)
    by = {(v.cell.model, v.cell.label): v for v in verdicts}
    assert by[("logistic", "direction")].trade_gate  # strong, selected, corrected bound > 0
    assert not by[("momentum", "direction")].trade_gate  # positive mean by luck: not selected
    lgb = by[("lightgbm", "direction")]
    assert not lgb.trade_gate and "above the best baseline" in lgb.suspect  # leakage until proven otherwise
    assert all(not v.trade_gate for v in verdicts if v.cell.label == "barrier")
    assert by[("logistic", "direction")].accuracy_gate and selected >= 2
