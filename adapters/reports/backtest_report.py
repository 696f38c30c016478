"""Backtest reports: summary.json (byte-identical for the same inputs and seed) and a self-contained
report.html with inline SVG plots. Run metadata that changes between runs (wall time, host) goes to
run.json, never into summary.json."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


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


def _polyline(xs: Sequence[float], ys: Sequence[float], w: int, h: int, pad: int, color: str,
              y_range: tuple[float, float] | None = None) -> str:
    if len(xs) < 2:
        return ""
    x0, x1 = min(xs), max(xs)
    y0, y1 = y_range if y_range else (min(ys), max(ys))
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1
    pts = " ".join(
        f"{pad + (x - x0) / (x1 - x0) * (w - 2 * pad):.1f},{h - pad - (y - y0) / (y1 - y0) * (h - 2 * pad):.1f}"
        for x, y in zip(xs, ys, strict=True)
    )
    return f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{pts}"/>'


def _svg(title: str, body: str, w: int = 640, h: int = 220, note: str = "") -> str:
    return (
        f'<figure><figcaption>{html.escape(title)}</figcaption>'
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}">'
        f'<rect width="{w}" height="{h}" fill="#fafafa" stroke="#ccc"/>{body}</svg>'
        f'<small>{html.escape(note)}</small></figure>'
    )


def _bars(labels: Sequence[str], values: Sequence[float | None], w: int = 640, h: int = 220, pad: int = 30) -> str:
    n = max(1, len(labels))
    bw = (w - 2 * pad) / n
    out = [f'<line x1="{pad}" y1="{h - pad - 0.5 * (h - 2 * pad):.1f}" x2="{w - pad}" '
           f'y2="{h - pad - 0.5 * (h - 2 * pad):.1f}" stroke="#999" stroke-dasharray="4"/>']
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        x = pad + i * bw
        if v is not None:
            bh = v * (h - 2 * pad)
            out.append(f'<rect x="{x + 4:.1f}" y="{h - pad - bh:.1f}" width="{bw - 8:.1f}" height="{bh:.1f}" '
                       f'fill="#4a7"/><text x="{x + bw / 2:.1f}" y="{h - pad - bh - 4:.1f}" font-size="10" '
                       f'text-anchor="middle">{v:.0%}</text>')
        out.append(f'<text x="{x + bw / 2:.1f}" y="{h - 10}" font-size="10" text-anchor="middle">'
                   f'{html.escape(lab)}</text>')
    return "".join(out)


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
        out += ("<p style='color:#b00'><b>This bundle FAILED its promotion gates:</b> "
                "the figures below come from a model the gates rejected.</p>")
    seen = {k: v for k, v in (m.get("in_sample_bars") or {}).items() if v}
    if seen:
        out += ("<p>Bars inside the bundle's training/validation span (in-sample): "
                + html.escape(", ".join(f"{k} {v}" for k, v in sorted(seen.items()))) + "</p>")
    return out


def render_html(summary: Mapping[str, Any], curves: Mapping[str, Any]) -> str:
    w, h, pad = 640, 220, 30
    eq = curves["equity"]
    dd = curves["drawdown"]
    equity_svg = _svg("Equity (balance after each closed trade)",
                      _polyline(eq["t"], eq["balance"], w, h, pad, "#26a"),
                      note=f"min {min(eq['balance']):,.2f} max {max(eq['balance']):,.2f}" if eq["balance"] else "")
    dd_svg = _svg("Drawdown (% below the running peak)",
                  _polyline(dd["t"], [-v for v in dd["pct"]], w, h, pad, "#c33"),
                  note=f"max {max(dd['pct'] or [0]):.2f}%")
    cal = curves["calibration"]
    pts = [(p, o) for p, o in zip(cal["predicted"], cal["observed"], strict=True) if p is not None and o is not None]
    cal_body = _polyline([0, 1], [0, 1], w, h, pad, "#999", (0, 1))
    if len(pts) >= 2:
        cal_body += _polyline([p for p, _ in pts], [o for _, o in pts], w, h, pad, "#a4a", (0, 1))
    cal_svg = _svg("Calibration: observed up-frequency vs predicted probability (bins)", cal_body,
                   note="diagonal = perfect calibration")
    hs = summary["hit_rate_by_session"]
    sess_svg = _svg("Hit rate by session", _bars(list(hs), [v["hit_rate"] for v in hs.values()]))
    ht = summary["hit_rate_by_tier"]
    tier_svg = _svg("Hit rate by tier", _bars(list(ht), [v["hit_rate"] for v in ht.values()]))
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(json.dumps(_clean(v), sort_keys=True))}</td></tr>"
        for k, v in sorted(summary.items())
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>trading-ai backtest</title>"
        "<style>body{font-family:sans-serif;max-width:900px;margin:auto}td{font-family:monospace;"
        "font-size:12px;word-break:break-all}th{text-align:left;vertical-align:top;padding-right:1em}</style>"
        f"</head><body><h1>Backtest report</h1><p>{html.escape(str(summary.get('headline', '')))}</p>"
        f"{_model_block(summary)}{equity_svg}{dd_svg}{cal_svg}{sess_svg}{tier_svg}<h2>Summary</h2><table>{rows}</table></body></html>\n"
    )


def write_reports(directory: Path, summary: Mapping[str, Any], curves: Mapping[str, Any],
                  run_meta: Mapping[str, Any]) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    sj = directory / "summary.json"
    sj.write_text(summary_json(summary), encoding="utf-8")
    rh = directory / "report.html"
    rh.write_text(render_html(_clean(summary), _clean(curves)), encoding="utf-8")
    (directory / "run.json").write_text(json.dumps(_clean(run_meta), sort_keys=True, indent=2) + "\n", encoding="utf-8")
    return rh, sj
