"""The backtest report opened in headless Chromium as a user would open the file: it draws with no
console error and no network (plotly.js is inline), shows one entry marker and one table row per
trade of summary.json, and the page is saved as a screenshot artefact."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from tests.integration.browser.conftest import artifacts_dir, open_browser
from tests.smoke_cli import DATA, smoke_cli

# Entry markers drawn by plotly (SVG path.point nodes) in the traces the report tags "trade-entries".
COUNT_ENTRY_MARKERS = """
Array.from(document.querySelectorAll('.js-plotly-plot')).reduce(function(n, gd) {
  var traces = gd.querySelectorAll('.scatterlayer .trace');
  gd._fullData.filter(function(t) { return t.type === 'scatter'; }).forEach(function(t, k) {
    if (t.meta === 'trade-entries') n += traces[k].querySelectorAll('path.point').length;
  });
  return n;
}, 0)
"""


@pytest.fixture(scope="module")
def smoke_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    if not DATA.is_dir():
        pytest.skip("shared real candles not available")
    reports = tmp_path_factory.mktemp("reports")
    proc = smoke_cli("backtest", "--json", env={"TRADING_AI_BACKTEST_REPORTS_DIR": str(reports)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)  # --json: stdout is exactly one JSON document
    return Path(str(out["report"])), dict(out["summary"])


def test_backtest_report_in_chromium(chromium: str, smoke_report: tuple[Path, dict[str, object]]) -> None:
    report, summary = smoke_report
    trades = int(summary["trades"])  # type: ignore[call-overload]
    assert trades > 0, "the smoke period must trade, or the marker check proves nothing"

    async def go() -> dict[str, object]:
        async with open_browser(chromium) as page:
            await page.send("Network.enable")
            await page.goto(report.resolve().as_uri())
            n_figures = await page.js("document.querySelectorAll('script.plotly-figure').length")
            await page.wait_for(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n_figures}")
            result = {
                "figures": n_figures,
                "plots": await page.js("document.querySelectorAll('.js-plotly-plot').length"),
                "markers": await page.js(COUNT_ENTRY_MARKERS),
                "rows": await page.js("document.querySelectorAll('#trades tbody tr').length"),
                "remote": [
                    e["params"]["request"]["url"]
                    for e in page.events
                    if e.get("method") == "Network.requestWillBeSent"
                    and not e["params"]["request"]["url"].startswith(("file:", "data:", "about:"))
                ],
                "errors": page.console_errors(),
            }
            # sort the trade table by P&L (last column) twice: the biggest winner comes first
            await page.js("var h=document.querySelectorAll('#trades th');h[h.length-1].click();h[h.length-1].click()")
            result["top_pnl"] = await page.js(
                "parseFloat(document.querySelector('#trades tbody tr').lastElementChild.dataset.v)"
            )
            await page.screenshot(artifacts_dir() / "backtest-report.png")
            return result

    r = asyncio.run(go())
    assert r["errors"] == [], r["errors"]
    assert r["remote"] == [], "the report must open offline"
    assert r["plots"] == r["figures"] and int(r["figures"]) >= 6  # type: ignore[call-overload]
    assert r["markers"] == trades, (r["markers"], trades)
    assert r["rows"] == trades
    assert (artifacts_dir() / "backtest-report.png").stat().st_size > 10_000
    assert isinstance(r["top_pnl"], float)
