"""Shared pieces of the interactive HTML reports (backtest, walk-forward index, challenge).

Charting library: plotly (plotly.py 7.1, bundling plotly.js). Chosen because it is a core
dependency already, it is actively maintained, it draws candlesticks, date axes with zoom, pan and
hover, and range sliders out of the box, and plotly.py hands over the whole plotly.js bundle as a
string, so every report inlines it and opens offline with no CDN (bokeh needs its own
BokehJS resources the same way but has no candlestick trace; lightweight-charts is JS-only and
would have to be vendored into the repository). See docs/reports.md.

Figures are plain plotly JSON (dicts) rendered by `Plotly.newPlot` from one inline script; dates
are epoch milliseconds on `type: "date"` axes. Plotting helpers never compute a figure of their
own: every number comes from the summary, the curves or the engine's trade rows.
"""

from __future__ import annotations

import functools
import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1200px;margin:auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:13px;margin:.5em 0}
th,td{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
th:first-child,td:first-child{text-align:left}
table.sortable th{cursor:pointer;background:#f4f4f4;user-select:none}
table.sortable th:after{content:" \\2195";color:#aaa}
.fail{color:#b00;font-weight:bold}.pass{color:#070;font-weight:bold}
.note{color:#666;font-size:12px}.chart{width:100%;height:420px}
details pre{font-size:11px;white-space:pre-wrap;word-break:break-all}
.scroll{max-height:480px;overflow:auto}
"""

# Click a header to sort by that column (numbers numerically, text alphabetically); click again to reverse.
SORT_JS = """
document.querySelectorAll('table.sortable').forEach(function(t){
  t.querySelectorAll('th').forEach(function(th,i){th.addEventListener('click',function(){
    var b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),asc=th.dataset.asc!=='1';
    rows.sort(function(x,y){var a=x.cells[i].dataset.v||x.cells[i].textContent,
      c=y.cells[i].dataset.v||y.cells[i].textContent,fa=parseFloat(a),fc=parseFloat(c);
      var r=(!isNaN(fa)&&!isNaN(fc))?fa-fc:a.localeCompare(c);return asc?r:-r;});
    rows.forEach(function(r){b.appendChild(r);});
    t.querySelectorAll('th').forEach(function(h){delete h.dataset.asc;});th.dataset.asc=asc?'1':'0';});});});
"""

PLOT_CONFIG = {"responsive": True, "displaylogo": False, "scrollZoom": True}


@functools.cache
def plotly_js() -> str:
    """The whole plotly.js bundle shipped with plotly.py (inlined so reports open offline)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def clean(x: Any) -> Any:
    """JSON-safe values: NaN and infinities become null."""
    if isinstance(x, float):
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(x, Mapping):
        return {str(k): clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean(v) for v in x]
    return x


def date_axis(title: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": "date", "title": {"text": title}, **extra}


def figure(div_id: str, data: Sequence[Mapping[str, Any]], layout: Mapping[str, Any], height: int = 420) -> str:
    """A placeholder div plus its figure; `page` draws every registered figure once plotly.js loaded."""
    spec = {
        "id": div_id,
        "data": clean(list(data)),
        "layout": {
            "height": height,
            "margin": {"l": 60, "r": 20, "t": 80, "b": 40},
            "hovermode": "closest",
            "legend": {"orientation": "h", "x": 0, "y": 1.0, "yanchor": "bottom"},
            **clean(dict(layout)),
        },
    }
    payload = json.dumps(spec, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (
        f'<div id="{html.escape(div_id)}" class="chart" style="height:{height}px"></div>'
        f'<script type="application/json" class="plotly-figure">{payload}</script>'
    )


DRAW_JS = (
    "document.querySelectorAll('script.plotly-figure').forEach(function(s){"
    "var f=JSON.parse(s.textContent);Plotly.newPlot(f.id,f.data,f.layout," + json.dumps(PLOT_CONFIG) + ");});"
)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, sortable: bool = False, table_id: str = "") -> str:
    """An HTML table; cells are escaped; a (text, sort value) tuple sorts by the value."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for c in row:
            if isinstance(c, tuple):
                text, key = c
                cells.append(f'<td data-v="{html.escape(str(key))}">{html.escape(str(text))}</td>')
            else:
                cells.append(f"<td>{html.escape(str(c))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    attrs_ = (' class="sortable"' if sortable else "") + (f' id="{html.escape(table_id)}"' if table_id else "")
    return f"<table{attrs_}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        return f"{v:,.{digits}f}"
    return str(v)


def page(title: str, body: str, *, charts: bool = True) -> str:
    """A complete, self-contained HTML document (plotly.js inline when the page has charts)."""
    scripts = f"<script>{plotly_js()}</script><script>{DRAW_JS}</script>" if charts else ""
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><style>{STYLE}</style></head>"
        f"<body>{body}{scripts}<script>{SORT_JS}</script></body></html>\n"
    )
