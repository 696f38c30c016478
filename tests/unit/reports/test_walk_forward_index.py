"""The walk-forward index page links every period's report and shows the totals it was given."""

from __future__ import annotations

from pathlib import Path

from adapters.reports.backtest_report import write_walk_forward_index


def _period(k: int) -> dict[str, object]:
    return {
        "index": k,
        "period": {"start_ms": 1_740_787_200_000 + k * 86_400_000, "end_ms": 1_740_787_200_000 + (k + 1) * 86_400_000},
        "trades": 10 + k,
        "return_pct": -1.5 + k,
        "max_drawdown_pct": 2.0,
        "hit_rate": 0.4,
        "breach_episodes": 0,
    }


def test_index_links_each_period(tmp_path: Path) -> None:
    summary = {
        "headline": "walk-forward, 3 periods",
        "model": "momentum",
        "periods": [_period(k) for k in range(3)],
        "total": {
            "trades": 33,
            "pnl": -1234.5,
            "mean_return_pct": -0.5,
            "compounded_return_pct": -0.6,
            "profitable_periods": 1,
            "periods": 3,
            "worst_max_drawdown_pct": 2.0,
            "breach_episodes": 0,
        },
    }
    page = write_walk_forward_index(tmp_path, summary).read_text(encoding="utf-8")
    for k in (1, 2, 3):
        assert f"href='period-{k:02d}/report.html'" in page
    assert "-1,234.50" in page and "1/3" in page and "2025-03-01 00:00" in page
    assert "<script src=" not in page  # self-contained
