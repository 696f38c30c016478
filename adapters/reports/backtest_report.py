"""Backtest reports: summary.json (byte-identical for the same inputs and seed), run.json (what
changes between runs: wall time, host) and report.html, one self-contained interactive page
(plotly, inlined; see adapters/reports/plotting.py for why plotly):

- candles per pair with every trade's entry and exit marker and its SL/TP lines,
- equity with FTMO's daily and total loss floors, drawdown, all on a date axis with zoom and hover,
- a sortable trade table, per-tier and per-session tables, the calibration curve, blocks by reason.

A walk-forward run gets `index.html` linking each period's page. Figures come from the summary,
the curves and the engine's trade rows; nothing here computes a metric of its own. The floors are
the FTMO rules' own (`domain.ftmo`) advanced at each Prague midnight over the balance curve.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from adapters.reports.plotting import date_axis, figure, fmt, page, table

if TYPE_CHECKING:
    from domain.backtest.engine import EngineResult, PairData
    from domain.ftmo import FtmoRules

MAX_CANDLES_PER_PAIR = 4000  # more bars are merged k at a time (OHLC of each group); trades stay exact


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return None if math.isnan(x) or math.isinf(x) else float(f"{x:.12g}")
    if isinstance(x, Mapping):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def summary_json(summary: Mapping[str, Any]) -> str:
    return json.dumps(_clean(summary), sort_keys=True, indent=2, allow_nan=False) + "\n"


# ------------------------------------------------------------------------------------ chart data


def _merge_bars(
    ts: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray, k: int
) -> dict[str, list[Any]]:
    if k <= 1:
        return {"t": ts.tolist(), "o": o.tolist(), "h": h.tolist(), "l": lo.tolist(), "c": c.tolist()}
    starts = np.arange(0, ts.shape[0], k)
    ends = np.minimum(starts + k, ts.shape[0]) - 1
    return {
        "t": ts[starts].tolist(),
        "o": o[starts].tolist(),
        "h": np.maximum.reduceat(h, starts).tolist(),
        "l": np.minimum.reduceat(lo, starts).tolist(),
        "c": c[ends].tolist(),
    }


def ftmo_floor_steps(
    rules: FtmoRules, t0_ms: int, t1_ms: int, curve_t: Sequence[int], curve_balance: Sequence[float]
) -> dict[str, list[Any]]:
    """FTMO's daily and total floors (unbuffered, and our buffered ones) from each Prague midnight in
    [t0, t1): the rules' own state rolled over the balance at each midnight."""
    from domain.ftmo import FtmoState
    from domain.prague_time import next_day_start_ms

    t = np.asarray(curve_t, dtype=np.int64)
    bal = np.asarray(curve_balance, dtype=np.float64)
    st = FtmoState.start(t0_ms, rules.initial_balance)
    out: dict[str, list[Any]] = {"t": [], "daily": [], "total": [], "daily_ours": [], "total_ours": []}
    at = t0_ms
    while at < t1_ms:
        i = int(np.searchsorted(t, at, side="right")) - 1
        st = st.roll(at, float(bal[max(i, 0)]) if bal.shape[0] else rules.initial_balance)
        out["t"].append(at)
        out["daily"].append(rules.daily_floor(st.day_start_balance, buffered=False))
        out["total"].append(rules.total_floor(st.max_eod_balance, buffered=False))
        out["daily_ours"].append(rules.daily_floor(st.day_start_balance))
        out["total_ours"].append(rules.total_floor(st.max_eod_balance))
        at = next_day_start_ms(at)
    for k in ("daily", "total", "daily_ours", "total_ours"):  # the last step lasts to the end
        out[k].append(out[k][-1] if out[k] else None)
    out["t"].append(t1_ms)
    return out


def build_charts(
    pairs: Sequence[PairData],
    res: EngineResult,
    rules: FtmoRules,
    curves: Mapping[str, Any],
    max_candles: int = MAX_CANDLES_PER_PAIR,
) -> dict[str, Any]:
    """What the interactive page draws beyond the summary: bars per pair, every trade, the floors."""
    from domain.backtest.lifecycle import ExitReason
    from domain.signals import Tier

    bars: dict[str, Any] = {}
    for p in pairs:
        b = p.bars
        k = max(1, math.ceil(len(b) / max_candles))
        bars[p.pair] = {
            "timeframe": b.timeframe.value,
            "bars": len(b),
            "merged": k,
            **_merge_bars(b.ts, b.open, b.high, b.low, b.close, k),
        }
    tr = res.trades
    names = list(res.pairs)
    trades = []
    order = np.argsort(np.asarray(tr["entry_ms"]), kind="stable")
    for j, i in enumerate(order.tolist()):
        trades.append(
            {
                "n": j + 1,
                "pair": names[int(tr["pair"][i])],
                "dir": "LONG" if int(tr["sign"][i]) > 0 else "SHORT",
                "tier": Tier(int(tr["tier"][i])).name,
                "confidence": float(tr["confidence"][i]),
                "entry_ms": int(tr["entry_ms"][i]),
                "entry": float(tr["entry_fill"][i]),
                "exit_ms": int(tr["exit_ms"][i]),
                "exit": float(tr["exit_fill"][i]),
                "exit_reason": ExitReason(int(tr["exit_reason"][i])).name.lower(),
                "sl": float(tr["sl"][i]),
                "tp": float(tr["tp"][i]),
                "r": float(tr["r"][i]),
                "pnl": float(tr["pnl"][i]),
            }
        )
    t0 = int(min(int(p.bars.ts[0]) for p in pairs))
    t1 = int(max(int(p.bars.ts[-1]) + p.bars.timeframe.ms for p in pairs))
    floors = ftmo_floor_steps(rules, t0, t1, curves["equity"]["t"], curves["equity"]["balance"])
    return {"bars": bars, "trades": trades, "floors": floors, "rules": rules.kind.value}


# ------------------------------------------------------------------------------------ rendering


def _utc(ms: int | None) -> str:
    if ms is None:
        return "-"
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")


def _model_block(summary: Mapping[str, Any]) -> str:
    """Which model produced the figures, and its gate verdict, above everything else."""
    m = summary.get("models")
    if not isinstance(m, Mapping):
        return f"<p><b>Model:</b> {html.escape(str(summary.get('model', 'unknown')))}</p>"
    out = f"<p><b>Model:</b> {html.escape(str(m.get('description', summary.get('model', ''))))}"
    weights = m.get("weights") or {}
    if weights:
        out += " &middot; weights " + html.escape(", ".join(f"{k}={v}" for k, v in sorted(weights.items())))
    out += "</p>"
    if m.get("kind") == "baseline":
        out += "<p>A named baseline, not a trained model.</p>"
    elif m.get("gates_passed") is False:
        out += (
            "<p class='fail'>This bundle FAILED its promotion gates: "
            "the figures below come from a model the gates rejected.</p>"
        )
    seen = {k: v for k, v in (m.get("in_sample_bars") or {}).items() if v}
    if seen:
        out += (
            "<p>Bars inside the bundle's training/validation span (in-sample): "
            + html.escape(", ".join(f"{k} {v}" for k, v in sorted(seen.items())))
            + "</p>"
        )
    return out


def _key_figures(s: Mapping[str, Any]) -> str:
    rows = [
        ("period (UTC)", f"{_utc(s['period']['start_ms'])} to {_utc(s['period']['end_ms'])}"),
        ("pairs / timeframe", f"{', '.join(s['pairs'])} / {s['timeframe']}"),
        ("bars / candidates / trades", f"{s['bars']} / {s['candidates']} / {s['trades']}"),
        ("return %", fmt(s["return_pct"])),
        ("final balance", fmt(s["final_balance"], 2)),
        ("max / avg drawdown %", f"{fmt(s['max_drawdown_pct'])} / {fmt(s['avg_drawdown_pct'])}"),
        ("hit rate", fmt(s["hit_rate"])),
        ("mean R", fmt(s["r_distribution"].get("mean"))),
        ("exposure", fmt(s["exposure"])),
        ("breach episodes (our floor / FTMO's)", f"{s['breach_episodes']} / {s['ftmo_breach_episodes']}"),
        ("days halted by a breach", s["breach_halt_days"]),
        ("costs", s["cost_model"]["description"]),
    ]
    return table(("figure", "value"), rows)


def _candles_figure(pair: str, b: Mapping[str, Any], trades: Sequence[Mapping[str, Any]], idx: int) -> str:
    mine = [t for t in trades if t["pair"] == pair]
    sl_x: list[Any] = []
    sl_y: list[Any] = []
    tp_x: list[Any] = []
    tp_y: list[Any] = []
    for t in mine:
        sl_x += [t["entry_ms"], t["exit_ms"], None]
        sl_y += [t["sl"], t["sl"], None]
        tp_x += [t["entry_ms"], t["exit_ms"], None]
        tp_y += [t["tp"], t["tp"], None]
    hover = [
        f"#{t['n']} {t['dir']} {t['tier']} conf {t['confidence']:.3f}<br>entry {t['entry']:.6g} "
        f"SL {t['sl']:.6g} TP {t['tp']:.6g}"
        for t in mine
    ]
    exit_hover = [
        f"#{t['n']} exit ({t['exit_reason']}) {t['exit']:.6g}<br>R {t['r']:+.2f} P&L {t['pnl']:+,.2f}" for t in mine
    ]
    data = [
        {
            "type": "candlestick",
            "name": pair,
            "x": b["t"],
            "open": b["o"],
            "high": b["h"],
            "low": b["l"],
            "close": b["c"],
            "increasing": {"line": {"color": "#26a69a"}},
            "decreasing": {"line": {"color": "#ef5350"}},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "stop loss",
            "x": sl_x,
            "y": sl_y,
            "hoverinfo": "skip",
            "line": {"color": "#d32f2f", "width": 1, "dash": "dot"},
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": "take profit",
            "x": tp_x,
            "y": tp_y,
            "hoverinfo": "skip",
            "line": {"color": "#2e7d32", "width": 1, "dash": "dot"},
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": f"entries ({len(mine)})",
            "meta": "trade-entries",
            "x": [t["entry_ms"] for t in mine],
            "y": [t["entry"] for t in mine],
            "text": hover,
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {
                "size": 9,
                "symbol": ["triangle-up" if t["dir"] == "LONG" else "triangle-down" for t in mine],
                "color": ["#1565c0" if t["dir"] == "LONG" else "#6a1b9a" for t in mine],
            },
        },
        {
            "type": "scatter",
            "mode": "markers",
            "name": "exits",
            "meta": "trade-exits",
            "x": [t["exit_ms"] for t in mine],
            "y": [t["exit"] for t in mine],
            "text": exit_hover,
            "hovertemplate": "%{text}<extra></extra>",
            "marker": {"size": 7, "symbol": "x", "color": ["#2e7d32" if t["pnl"] > 0 else "#c62828" for t in mine]},
        },
    ]
    merged = (
        f" (bars merged {b['merged']} at a time from {b['bars']} {b['timeframe']} bars)"
        if b["merged"] > 1
        else f" ({b['bars']} {b['timeframe']} bars)"
    )
    layout = {
        "title": {"text": f"{pair}: candles, entries, exits, SL/TP{merged}"},
        "xaxis": date_axis(rangeslider={"visible": False}),
        "yaxis": {"title": {"text": "price"}},
    }
    return figure(f"candles-{idx}", data, layout, height=520)


def _to_end(t: Sequence[Any], y: Sequence[Any], end_ms: int) -> tuple[list[Any], list[Any]]:
    """A step curve held at its last value to the end of the period (the balance after the last trade)."""
    t, y = list(t), list(y)
    if t and y and t[-1] < end_ms:
        t.append(end_ms)
        y.append(y[-1])
    return t, y


def _equity_figure(curves: Mapping[str, Any], floors: Mapping[str, Any] | None, end_ms: int) -> str:
    eq = curves["equity"]
    t, bal = _to_end(eq["t"], eq["balance"], end_ms)
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "balance",
            "x": t,
            "y": bal,
            "line": {"color": "#1f5fa8", "shape": "hv"},
        }
    ]
    if floors:
        for key, name, color, dash in (
            ("daily", "FTMO daily floor", "#e65100", "solid"),
            ("total", "FTMO total floor", "#b71c1c", "solid"),
            ("daily_ours", "our daily floor (buffered)", "#e65100", "dot"),
            ("total_ours", "our total floor (buffered)", "#b71c1c", "dot"),
        ):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": name,
                    "x": floors["t"],
                    "y": floors[key],
                    "line": {"color": color, "dash": dash, "width": 1.5, "shape": "hv"},
                }
            )
    layout = {
        "title": {"text": "Equity (balance after each closed trade) and the FTMO floors"},
        "xaxis": date_axis(rangeslider={"visible": True}),
        "yaxis": {"title": {"text": "account currency"}},
    }
    return figure("equity", data, layout, height=460)


def _drawdown_figure(curves: Mapping[str, Any], end_ms: int) -> str:
    dd = curves["drawdown"]
    t, pct = _to_end(dd["t"], [None if v is None else -v for v in dd["pct"]], end_ms)
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "drawdown %",
            "x": t,
            "y": pct,
            "fill": "tozeroy",
            "line": {"color": "#c62828", "shape": "hv"},
        }
    ]
    layout = {
        "title": {"text": "Drawdown (% below the running peak)"},
        "xaxis": date_axis(),
        "yaxis": {"title": {"text": "%"}},
    }
    return figure("drawdown", data, layout, height=300)


def _calibration_figure(curves: Mapping[str, Any]) -> str:
    cal = curves["calibration"]
    pts = [(p, o) for p, o in zip(cal["predicted"], cal["observed"], strict=True) if p is not None and o is not None]
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": "perfect",
            "x": [0, 1],
            "y": [0, 1],
            "line": {"color": "#999", "dash": "dash"},
        },
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "observed",
            "x": [p for p, _ in pts],
            "y": [o for _, o in pts],
            "line": {"color": "#8e24aa"},
        },
    ]
    layout = {
        "title": {"text": "Calibration: observed up-frequency vs predicted probability (bins)"},
        "xaxis": {"title": {"text": "predicted P(up)"}, "range": [0, 1]},
        "yaxis": {"title": {"text": "observed"}, "range": [0, 1]},
    }
    return figure("calibration", data, layout, height=360)


def _blocks_figure(blocks: Mapping[str, int]) -> str:
    items = sorted(blocks.items(), key=lambda kv: -kv[1])
    data = [
        {
            "type": "bar",
            "name": "blocks",
            "x": [k for k, _ in items],
            "y": [v for _, v in items],
            "marker": {"color": "#546e7a"},
        }
    ]
    layout = {"title": {"text": "Candidates blocked, by reason"}, "yaxis": {"title": {"text": "count"}, "type": "log"}}
    return figure("blocks", data, layout, height=320)


def _group_table(groups: Mapping[str, Mapping[str, Any]], label: str) -> str:
    return table(
        (label, "trades", "hit rate"), [(k, v.get("trades", 0), fmt(v.get("hit_rate"))) for k, v in groups.items()]
    )


def _trade_table(trades: Sequence[Mapping[str, Any]]) -> str:
    rows = [
        (
            (t["n"], t["n"]),
            t["pair"],
            t["dir"],
            t["tier"],
            (f"{t['confidence']:.3f}", t["confidence"]),
            (_utc(t["entry_ms"]), t["entry_ms"]),
            (f"{t['entry']:.6g}", t["entry"]),
            (_utc(t["exit_ms"]), t["exit_ms"]),
            (f"{t['exit']:.6g}", t["exit"]),
            t["exit_reason"],
            (f"{t['sl']:.6g}", t["sl"]),
            (f"{t['tp']:.6g}", t["tp"]),
            (f"{t['r']:+.2f}", t["r"]),
            (f"{t['pnl']:+,.2f}", t["pnl"]),
        )
        for t in trades
    ]
    return (
        "<div class='scroll'>"
        + table(
            (
                "#",
                "pair",
                "dir",
                "tier",
                "conf",
                "entry UTC",
                "entry",
                "exit UTC",
                "exit",
                "reason",
                "SL",
                "TP",
                "R",
                "P&L",
            ),
            rows,
            sortable=True,
            table_id="trades",
        )
        + "</div>"
    )


def render_html(
    summary: Mapping[str, Any],
    curves: Mapping[str, Any],
    charts: Mapping[str, Any] | None = None,
    *,
    title: str = "Backtest report",
    back_link: str = "",
) -> str:
    s = summary
    parts = [f"<h1>{html.escape(title)}</h1>"]
    if back_link:
        parts.append(f"<p><a href='{html.escape(back_link)}'>&larr; all periods</a></p>")
    parts += [f"<p>{html.escape(str(s.get('headline', '')))}</p>", _model_block(s), _key_figures(s)]
    trades = list(charts["trades"]) if charts else []
    if charts:
        parts.append(
            "<h2>Candles and trades</h2><p class='note'>Drag to zoom, double-click to reset; "
            "triangles are entries (up = long), crosses exits (green = profit), dotted lines SL/TP.</p>"
        )
        for i, (pair, b) in enumerate(charts["bars"].items()):
            parts.append(_candles_figure(pair, b, trades, i))
    parts += [
        "<h2>Equity and drawdown</h2>",
        _equity_figure(curves, charts["floors"] if charts else None, int(s["period"]["end_ms"])),
        _drawdown_figure(curves, int(s["period"]["end_ms"])),
    ]
    parts += [
        "<h2>By tier and by session</h2>",
        _group_table(s["hit_rate_by_tier"], "tier"),
        _group_table(s["hit_rate_by_session"], "session"),
    ]
    mq = s.get("model_quality", {})
    if mq.get("tiers"):
        parts.append(
            table(
                ("tier (all bars)", "count", "precision", "recall", "mean confidence"),
                [
                    (t["tier"], t["count"], fmt(t["precision"]), fmt(t["recall"]), fmt(t["mean_confidence"]))
                    for t in mq["tiers"]
                ],
            )
        )
    parts += [
        "<h2>Model calibration</h2>",
        f"<p class='note'>bars scored {mq.get('bars_scored', '-')}, accuracy {fmt(mq.get('accuracy'))}, "
        f"Brier {fmt(mq.get('brier'))}, ECE {fmt(mq.get('ece'))}</p>",
        _calibration_figure(curves),
        "<h2>Blocks</h2>",
        _blocks_figure(s["blocks_by_reason"]),
        table(("reason", "count"), sorted(s["blocks_by_reason"].items())),
    ]
    if charts:
        parts += [
            f"<h2>Trades ({len(trades)})</h2><p class='note'>Click a column header to sort.</p>",
            _trade_table(trades),
        ]
    parts.append(
        "<h2>Summary</h2><details><summary>summary.json</summary><pre>"
        + html.escape(summary_json(s))
        + "</pre></details>"
    )
    return page(f"trading-ai {title.lower()}", "".join(parts))


def write_reports(
    directory: Path,
    summary: Mapping[str, Any],
    curves: Mapping[str, Any],
    run_meta: Mapping[str, Any],
    charts: Mapping[str, Any] | None = None,
    *,
    title: str = "Backtest report",
    back_link: str = "",
) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    sj = directory / "summary.json"
    sj.write_text(summary_json(summary), encoding="utf-8")
    rh = directory / "report.html"
    rh.write_text(
        render_html(
            _clean(summary), _clean(curves), _clean(charts) if charts else None, title=title, back_link=back_link
        ),
        encoding="utf-8",
    )
    (directory / "run.json").write_text(json.dumps(_clean(run_meta), sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return rh, sj


def write_walk_forward_index(root: Path, summary: Mapping[str, Any]) -> Path:
    """index.html: the total and one row per period, each linking to its period-NN/report.html."""
    tot = summary["total"]
    rows = []
    for s in summary["periods"]:
        k = int(s["index"]) + 1
        link = f"<a href='period-{k:02d}/report.html'>period {k}</a>"
        rows.append(
            (
                k,
                link,
                _utc(s["period"]["start_ms"]),
                _utc(s["period"]["end_ms"]),
                s["trades"],
                fmt(s["return_pct"]),
                fmt(s["max_drawdown_pct"]),
                fmt(s["hit_rate"]),
                s["breach_episodes"],
            )
        )
    head = ("#", "period", "from (UTC)", "to (UTC)", "trades", "return %", "max DD %", "hit rate", "breach episodes")
    body_rows = "".join(
        "<tr>" + "".join(f"<td>{c if i == 1 else html.escape(str(c))}</td>" for i, c in enumerate(r)) + "</tr>"
        for r in rows
    )
    tbl = (
        "<table class='sortable'><thead><tr>"
        + "".join(f"<th>{html.escape(h)}</th>" for h in head)
        + f"</tr></thead><tbody>{body_rows}</tbody></table>"
    )
    body = (
        f"<h1>Walk-forward backtest</h1><p>{html.escape(str(summary.get('headline', '')))}</p>"
        + _model_block(summary)
        + table(
            ("total", "value"),
            [
                ("trades", tot["trades"]),
                ("P&L", fmt(tot["pnl"], 2)),
                ("mean return % per period", fmt(tot["mean_return_pct"])),
                ("compounded return %", fmt(tot["compounded_return_pct"])),
                ("profitable periods", f"{tot['profitable_periods']}/{tot['periods']}"),
                ("worst max drawdown %", fmt(tot["worst_max_drawdown_pct"])),
                ("breach episodes", tot["breach_episodes"]),
            ],
        )
        + "<h2>Periods</h2>"
        + tbl
    )
    path = root / "index.html"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(page("trading-ai walk-forward", body, charts=False), encoding="utf-8")
    return path
