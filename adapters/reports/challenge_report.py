"""The challenge simulator's report: one self-contained interactive page (plotly, inlined) with each
attempt's equity path against its FTMO floors and the profit target, and a table saying whether it
passed and why. Every number comes from `domain.challenge` (attempts and their summaries)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.reports.plotting import figure, fmt, page, table
from domain.challenge import METHOD_NOTE

if TYPE_CHECKING:
    from domain.challenge import Attempt, ChallengeSummary
    from domain.ftmo import FtmoRules

MS_PER_DAY = 86_400_000


def why(a: Attempt, rules: FtmoRules) -> str:
    """The attempt's outcome in words."""
    if a.outcome == "passed":
        return (
            f"passed: +{a.profit_pct:.2f}% >= target {rules.profit_target_pct:g}% after {a.days} days "
            f"({a.trading_days} trading days)"
        )
    if a.outcome == "daily_loss":
        return f"failed: equity below the daily loss floor on day {a.days}"
    if a.outcome == "max_loss":
        return f"failed: equity below the total loss floor on day {a.days}"
    if a.outcome == "timeout":
        return f"not passed: {a.days} days without reaching the target ({a.profit_pct:+.2f}%)"
    return f"not passed: the data ended after {a.days} days ({a.profit_pct:+.2f}%)"


def _start(a: Attempt) -> str:
    if a.start_day < 0:
        return "bootstrap"
    return dt.datetime.fromtimestamp(a.start_day * MS_PER_DAY / 1000, dt.UTC).strftime("%Y-%m-%d")


def _method_section(s: ChallengeSummary, attempts: Sequence[Attempt], rules: FtmoRules, idx: int) -> str:
    target = rules.initial_balance + rules.profit_target
    data: list[dict[str, Any]] = []
    for k, a in enumerate(attempts, 1):
        days = list(range(1, len(a.path) + 1))
        color = (
            "#2e7d32"
            if a.outcome == "passed"
            else ("#c62828" if a.outcome in ("daily_loss", "max_loss") else "#757575")
        )
        group = f"a{k}"
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"#{k} {a.outcome}",
                "legendgroup": group,
                "x": [0, *days],
                "y": [rules.initial_balance, *(p[0] for p in a.path)],
                "line": {"color": color, "width": 1.5},
                "meta": "attempt",
                "hovertemplate": f"#{k} day %{{x}}: %{{y:,.2f}}<extra>{html.escape(a.outcome)}</extra>",
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"#{k} daily floor",
                "legendgroup": group,
                "showlegend": False,
                "x": days,
                "y": [p[2] for p in a.path],
                "visible": "legendonly",
                "line": {"color": color, "width": 1, "dash": "dot", "shape": "hv"},
            }
        )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": f"#{k} total floor",
                "legendgroup": group,
                "showlegend": False,
                "x": days,
                "y": [p[3] for p in a.path],
                "line": {"color": "#b71c1c", "width": 1, "dash": "dash", "shape": "hv"},
                "opacity": 0.5,
            }
        )
    longest = max((len(a.path) for a in attempts), default=1)
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "profit target",
            "x": [0, longest],
            "y": [target, target],
            "line": {"color": "#1565c0", "dash": "dash"},
        }
    )
    layout = {
        "title": {"text": f"{s.method}: each attempt's balance by day", "x": 0},
        "xaxis": {"title": {"text": "day of the attempt"}},
        "yaxis": {"title": {"text": "balance"}},
        "legend": {"orientation": "v"},
    }
    rows = [
        (
            k,
            _start(a),
            a.outcome,
            why(a, rules),
            a.days,
            a.trading_days,
            (f"{a.profit_pct:+.2f}", a.profit_pct),
            fmt(a.best_day_share, 2),
            a.guardrail_violations,
        )
        for k, a in enumerate(attempts, 1)
    ]
    verdict = s.gate_pass_rate and s.gate_guardrails
    head = (
        f"<h2>{html.escape(s.method)}: <span class='{'pass' if verdict else 'fail'}'>"
        f"{'PASS' if verdict else 'FAIL'}</span></h2>"
        f"<p>{s.runs} attempts, pass rate {s.pass_rate:.0%} (gate >= {s.pass_rate_gate:.0%}: "
        f"{'PASS' if s.gate_pass_rate else 'FAIL'}), guardrail violations {s.guardrail_violations} "
        f"(gate 0: {'PASS' if s.gate_guardrails else 'FAIL'}); outcomes "
        + html.escape(", ".join(f"{k} {v}" for k, v in s.outcomes))
        + "</p><p class='note'>Dashed red: each attempt's total loss floor; click an attempt in the legend to "
        "hide it or show it with its daily floor (dotted)." + "</p>"
    )
    return (
        head
        + figure(f"attempts-{idx}", data, layout, height=480)
        + table(
            (
                "#",
                "start",
                "outcome",
                "why",
                "days",
                "trading days",
                "profit %",
                "best-day share",
                "guardrail violations",
            ),
            rows,
            sortable=True,
            table_id=f"attempts-table-{idx}",
        )
    )


def write_challenge_report(
    directory: Path, title: str, methods: Sequence[tuple[ChallengeSummary, Sequence[Attempt]]], rules: FtmoRules
) -> Path:
    body = (
        f"<h1>FTMO challenge simulation</h1><p>{html.escape(title)}</p>"
        f"<p class='note'>rules: {rules.kind.value}, initial balance {rules.initial_balance:,.0f}, profit "
        f"target {rules.profit_target_pct:g}%, daily loss {rules.daily_loss_limit_pct:g}%, total loss "
        f"{rules.max_loss_limit_pct:g}%, at least {rules.min_trading_days} trading days</p>"
        f"<p class='note'>method: {html.escape(METHOD_NOTE)}</p>"
        + "".join(_method_section(s, attempts, rules, i) for i, (s, attempts) in enumerate(methods))
    )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "report.html"
    path.write_text(page("trading-ai challenge simulation", body), encoding="utf-8")
    return path
