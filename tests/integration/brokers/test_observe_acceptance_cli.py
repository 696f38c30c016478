"""`trading-ai observe acceptance` end to end: from a trades file and from the SQLite risk book.

Trades here are SYNTHETIC records (mechanics of the gate, not market results)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adapters.storage import migrate
from adapters.storage.engine import create_engine_for
from adapters.storage.repositories import EngineScope, SqlRiskBookRepository
from composition.cli import main
from domain.risk_book import TradeRecord
from domain.signals import Mode, Tier


def _trade(i: int, win: bool, mode: Mode = Mode.LIVE) -> TradeRecord:
    return TradeRecord(
        signal_id=f"t{i}",
        pair="BTC/USDT",
        tier=Tier.HIGH,
        entry_time_ms=1_700_000_000_000 + i,
        entry_price=40_000.0,
        tp_price=40_400.0,
        sl_price=39_800.0,
        rr_expected=2.0,
        result="W" if win else "L",
        exit_time_ms=1_700_000_100_000 + i,
        exit_price=40_400.0 if win else 39_800.0,
        r_realized=2.0 if win else -1.0,
        latency_ms=150.0,
        slippage_bps=1.2 if i % 2 else 0.8,
        slippage_expected_bps=1.0,
        mode=mode,
    )


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRADING_AI_DATA_STORE_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOG_FORMAT", "console")
    return tmp_path


def test_from_jsonl_file_verdict_and_exit_codes(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = env / "trades.jsonl"
    rows = [_trade(i, i % 10 < 7) for i in range(110)]
    f.write_text(
        "\n".join(
            json.dumps(
                {
                    "signal_id": r.signal_id,
                    "pair": r.pair,
                    "tier": "HIGH",
                    "entry_time_ms": r.entry_time_ms,
                    "entry_price": r.entry_price,
                    "tp_price": r.tp_price,
                    "sl_price": r.sl_price,
                    "rr_expected": 2.0,
                    "result": r.result,
                    "r_realized": r.r_realized,
                    "latency_ms": 150.0,
                    "slippage_bps": r.slippage_bps,
                    "slippage_expected_bps": 1.0,
                    "mode": "live",
                }
            )
            for r in rows
        )
    )
    assert main(["observe", "acceptance", "--trades", str(f), "--latency-penalty-bps", "3"]) == 0
    out = capsys.readouterr().out
    assert "raise_risk_justified" in out and "110 (need 100)" in out and "77/110" in out
    assert main(["observe", "acceptance", "--trades", str(f), "--target", "0.75"]) == 1
    assert "keep_risk" in capsys.readouterr().out


def test_from_the_sqlite_risk_book_insufficient_data(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{env / 'rb.sqlite3'}"
    migrate.upgrade(url)
    book = SqlRiskBookRepository(EngineScope(create_engine_for(url)))
    for i in range(40):
        book.add(_trade(i, i % 4 != 0))
    book.add(_trade(99, True, mode=Mode.DRYRUN))  # another mode: not counted
    monkeypatch.setenv("DATABASE_URL", url)
    assert main(["observe", "acceptance", "--latency-penalty-bps", "0"]) == 1
    out = capsys.readouterr().out
    assert "insufficient_data" in out and "40 (need 100)" in out and "30/40" in out


def test_bad_file_is_one_line_exit_2(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = env / "bad.csv"
    bad.write_text("signal_id,pair,tier\nx,BTC/USDT,ULTRA\n")
    assert main(["observe", "acceptance", "--trades", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.csv:2" in err and "Traceback" not in err
