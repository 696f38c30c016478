"""`trading-ai sentiment ablation`: refuses without the plugin, says how much history exists and how
much it needs when there is too little, and compares walk-forwards with and without the sentiment
input over the stored span when there is enough (posts recorded the live way; real candles)."""

from __future__ import annotations

import importlib.metadata as md
import json
from pathlib import Path

import pytest

from composition.cli import main
from tests.e2e.test_sentiment_replay import _record_posts

FIXED = ["--cost-model", "fixed", "--spread-bps", "2", "--slippage-bps", "1", "--model", "baseline"]


@pytest.fixture
def recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for k in ("ENSEMBLE_WEIGHTS", "PLUGINS_DISABLED", "SENTIMENT_BLOCK_BOUND", "LOG_FILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'rt.sqlite3'}")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.chdir(tmp_path)
    _record_posts(tmp_path)
    return tmp_path


def _install_entry_point(tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp / "site" / "tai_ablation-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tai-ablation\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[trading_ai.plugins]\nsentiment = plugins.sentiment\n")
    monkeypatch.syspath_prepend(str(tmp / "site"))


@pytest.mark.slow
def test_ablation_without_plugin_too_little_history_and_a_comparison(
    recorded: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installed = any(ep.name == "sentiment" for ep in md.entry_points(group="trading_ai.plugins"))
    if installed:  # the editable install declares the entry point: switch the plugin off instead
        monkeypatch.setenv("PLUGINS_DISABLED", "sentiment")
    assert main(["sentiment", "ablation", "--json"]) == 2
    state = "disabled" if installed else "not installed"
    assert f"sentiment plugin is {state}" in capsys.readouterr().err

    monkeypatch.delenv("PLUGINS_DISABLED", raising=False)
    if not installed:
        _install_entry_point(recorded, monkeypatch)
    assert main(["sentiment", "ablation"]) == 0
    out = capsys.readouterr().out
    assert "too little sentiment history" in out and "BTC/USDT: 2025-09-30" in out and "0.4 days" in out
    assert "needs per pair: at least 30 days" in out and "compounded" not in out

    monkeypatch.setenv("SENTIMENT_BLOCK_BOUND", "0.15")
    assert main(["sentiment", "ablation", "--min-days", "0.3", "--periods", "2", "--json", *FIXED]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["verdict"] == "compared" and res["span"] == "2025-09-30 .. 2025-10-02"
    without, with_ = res["without"], res["with"]
    assert without["periods"] == with_["periods"] == 2 and without["bars"] == with_["bars"]
    assert with_["blocks_by_reason"]["sentiment"] > 0 == without["blocks_by_reason"].get("sentiment", 0)
    assert with_["trades"] != without["trades"]
    assert all(h["coverage"] > 0.9 for h in res["history"].values())
