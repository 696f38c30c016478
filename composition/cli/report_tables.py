"""The tables of a training run's report: what `trading-ai evaluate` and `trading-ai train` print.

`render_report` draws the final fold's test figures, tiers and gate table of a run's report.json;
`gates_verdict` and `signals_graded` read the run's recorded verdict and the number of signals its
gates graded per coin. Nothing is recomputed or rounded up here.
"""

from __future__ import annotations

import math
from typing import Any


def _f(x: Any, pct: bool = False, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{100 * x:.1f}%" if pct else f"{x:.{digits}f}"


TIERS = ("LOW", "MEDIUM", "HIGH")
ORDER = ("ensemble", "lstm", "transformer", "majority", "persistence", "logistic", "lightgbm")


def render_report(report: dict[str, Any], console: Any, tag: str | None = None, folds: bool = False) -> None:
    from rich.markup import escape
    from rich.table import Table

    final = report["final"]
    console.print(
        f"[bold]run {report.get('run_id', '?')}[/bold] tag {tag or report.get('tag', '?')} - "
        f"{report['profile']} profile, {report['timeframe']} bars, horizon {report['horizon_bars']} bars "
        f"({report['horizon_minutes']} min), window {report['seq_len']}, "
        f"{len(report['folds'])} walk-forward fold(s); figures below: final fold TEST split; costs: "
        + escape(str(report["cost_model"]["description"]))
    )
    for pair, d in final["pairs"].items():
        sp = d["split"]
        t = Table(
            title=f"{pair} - test n={sp['test']['n']} (up share {_f(sp['test']['up_share'], True)}), "
            f"val n={sp['val']['n']}, train n={sp['train']['n']}, embargo {sp['embargo_bars']} bars"
        )
        # two tables of at most 8 short columns each, so both read at 80 columns
        for col in ("model", "val\nacc", "test\nacc", "AUC", "Brier", "ECE\nraw", "ECE\ncal", "calib-\nration"):
            t.add_column(col, justify="right" if col != "model" else "left", no_wrap=True)
        tt = Table(title=f"{pair} - precision / coverage by tier (test, calibrated where a map exists)")
        for col in ("model", *TIERS):
            tt.add_column(col, justify="right" if col != "model" else "left", no_wrap=True)
        for name in ORDER:
            e = d["models"].get(name)
            if e is None:
                continue
            cal = e.get("test_calibrated")
            tiers = (cal or e["test"])["tiers"]
            t.add_row(
                name,
                _f(e["val"]["accuracy"]),
                _f(e["test"]["accuracy"]),
                _f(e["test"]["auc"]),
                _f(e["test"]["brier"], digits=4),
                _f(e["test"]["ece"], True),
                _f(cal["ece"], True) if cal else "-",
                e.get("calibration", {}).get("kind", "-"),
            )
            tt.add_row(name, *(f"{_f(tiers[x]['precision'])} / {_f(tiers[x]['coverage'], True)}" for x in TIERS))
        console.print(t)
        console.print(tt)
        ens = d["models"]["ensemble"]["test_calibrated"]["by_session"]
        console.print(
            f"{pair} ensemble test accuracy by session: "
            + ", ".join(f"{s} {_f(v['accuracy'])} (n={v['count']})" for s, v in ens.items())
            + f"; Transformer trend-strength head, test correlation with realised ATR-move: "
            f"{_f(d.get('transformer_trend_corr_test'))}"
        )
        graded = d["models"]["ensemble"].get("signals_graded")
        g = Table(
            title=f"{pair} - promotion gates (calibrated, test split; baselines compared on validation); "
            f"graded {graded if graded is not None else 'n/a'} ensemble signals"
        )
        for col in ("model", "gate", "result", "reason"):
            g.add_column(col)
        for name in ("ensemble", "lstm", "transformer"):
            for gate in d["models"][name]["gates"]:
                g.add_row(
                    name,
                    gate["name"],
                    "[green]PASS[/green]" if gate["passed"] else "[red]FAIL[/red]",
                    escape(gate["reason"]),
                )
        console.print(g)
    if folds and len(report["folds"]) > 1:
        ft = Table(title="Walk-forward: test accuracy per fold (raw probabilities)")
        ft.add_column("fold")
        ft.add_column("pair")
        for name in ORDER:
            ft.add_column(name)
        for fold in report["folds"]:
            for pair, d in fold["pairs"].items():
                ft.add_row(str(fold["fold"]), pair, *(_f(d["models"][n]["test"]["accuracy"]) for n in ORDER))
        console.print(ft)


def signals_graded(report: dict[str, Any]) -> dict[str, int | None]:
    """Per coin: how many test-split signals of the ensemble the gates graded (None: an older report)."""
    return {pair: d["models"]["ensemble"].get("signals_graded") for pair, d in report["final"]["pairs"].items()}


def gates_verdict(report: dict[str, Any]) -> bool:
    """The run's recorded verdict: the ensemble (what the runtime trades) passed its gates on every pair."""
    return all(bool(d["models"]["ensemble"].get("gates_passed", False)) for d in report["final"]["pairs"].values())
