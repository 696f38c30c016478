"""The live dashboard of a real runtime (replayed dry-run over the real candles, paper broker, SQLite),
opened in headless Chromium: it needs its token, is read-only, updates itself without a reload, shows
no console error, and its floors equal what the real Telegram bot's /ftmo_status answers."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.integration.browser.conftest import ROOT, artifacts_dir, open_browser
from tests.integration.telegram.conftest import TOKEN, FakeBotApi

DATA = ROOT.parent / "shared" / "data" / "candles" / "binance"
CHAT = 4242


def _money(text: str, label: str) -> float:
    m = re.search(rf"{label} ([\d,]+\.\d\d)", text)
    assert m, (label, text)
    return float(m.group(1).replace(",", ""))


@pytest.mark.skipif(not DATA.is_dir(), reason="shared real candles not available")
def test_dashboard_of_a_running_service_in_chromium(tmp_path: Path, chromium: str) -> None:
    from adapters.notifiers.telegram.bot import TelegramBot
    from composition.config import load_config
    from composition.containers import RunOptions, parse_date_ms
    from composition.logging_setup import configure_logging
    from composition.runtime.launch import build_service
    from composition.runtime.service import serve

    config = load_config(
        env_file=None,
        environ={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'rt.sqlite3'}",
            "LOG_FORMAT": "json",
            "DATA_DIR": str(tmp_path),
            "CANDLES_DIR": str(DATA),
        },
    )
    log = configure_logging(config, mode="dryrun", stream=io.StringIO())
    from adapters.storage.migrate import upgrade

    upgrade(config.database.url)  # `trading-ai db upgrade`, as a user runs it first
    options = RunOptions(
        replay_from_ms=parse_date_ms("2025-10-01", "d"),
        cycles=80,
        cost_model="fixed",
        spread_bps=2.0,
        slippage_bps=1.0,
        health=False,
        console_signals=False,
        dashboard_port=0,
    )
    parts, extras = build_service(config, options, log)
    operator = extras["operator"]
    dash = parts.dashboard
    assert dash is not None

    async def main() -> dict[str, Any]:
        await serve(parts, install_signals=False)  # 80 replayed cycles; the dashboard served beside them
        await dash.start()  # and again for the browser, over the state the cycles left
        api = FakeBotApi()
        await api.start()
        bot = TelegramBot(TOKEN, [CHAT], operator, base_url=api.base_url, log=log, poll_timeout_s=1)
        await bot.start()
        out: dict[str, Any] = {}
        try:
            api.push_command(CHAT, "/ftmo_status")
            out["ftmo_text"] = (await api.wait_sent(1))[0]["text"]
            base = f"http://127.0.0.1:{dash.port}"
            async with aiohttp.ClientSession() as http:
                async with http.get(f"{base}/api/snapshot") as r:
                    out["no_token"] = r.status
                async with http.get(f"{base}/api/snapshot", params={"token": "wrong"}) as r:
                    out["bad_token"] = r.status
                async with http.post(f"{base}/api/snapshot", params={"token": dash.token}) as r:
                    out["post"] = r.status
                async with http.get(f"{base}/api/snapshot", headers={"Authorization": f"Bearer {dash.token}"}) as r:
                    out["bearer"] = r.status
            async with open_browser(chromium, height=1100) as page:
                await page.goto(dash.url)
                await page.wait_for("Number(document.body.dataset.snapshots) >= 2", timeout=30)  # pushed twice
                for key, el in (("daily", "daily-floor"), ("total", "total-floor"), ("equity", "equity")):
                    out[key] = float(await page.js(f"document.getElementById('{el}').dataset.value"))
                out["mode"] = await page.js("document.getElementById('mode').textContent")
                out["positions"] = await page.js("document.querySelectorAll('#positions tbody tr').length")
                out["signals"] = await page.js("document.querySelectorAll('#signals tbody tr').length")
                out["kill"] = await page.js("document.getElementById('kill-switch').textContent")
                out["errors"] = page.console_errors()
                out["url"] = await page.js("location.href")
                await page.screenshot(artifacts_dir() / "dashboard.png")
        finally:
            await bot.stop()
            await api.stop()
            await dash.stop()
        return out

    r = asyncio.run(main())
    ftmo = operator.ftmo_status()
    assert r["errors"] == [], r["errors"]
    assert (r["no_token"], r["bad_token"], r["post"], r["bearer"]) == (401, 401, 405, 200)
    # the page and the bot read the same port: the same floors, to the cent
    assert r["daily"] == pytest.approx(_money(r["ftmo_text"], "today's floor"), abs=0.005)
    assert r["total"] == pytest.approx(_money(r["ftmo_text"], "total floor"), abs=0.005)
    assert r["daily"] == pytest.approx(ftmo.daily_floor) and r["equity"] == pytest.approx(ftmo.equity)
    assert r["mode"] == "replay" and r["kill"] == "off"  # the replay shows its own mode
    assert r["positions"] == len(operator.positions())
    assert r["signals"] == min(10, len(operator.recent_signals(10))) and r["signals"] > 0
    assert (artifacts_dir() / "dashboard.png").stat().st_size > 10_000
    logging.getLogger("trading_ai").handlers.clear()
