"""The real bot over the fake Bot API drives the real runtime (OperatorService + persisted state over the
real candles): `/kill_switch on` + `/confirm` blocks emission from the next cycle; `/threshold` persists."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import Any

from adapters.notifiers.telegram.bot import TelegramBot
from composition.config import load_config
from composition.containers import RunOptions, parse_date_ms
from composition.logging_setup import configure_logging
from composition.runtime.launch import build_service
from composition.runtime.service import serve
from tests.integration.storage.migrated import migrated_sqlite_url

TOKEN = "123456:TEST-TOKEN"
CHAT = 4242


def test_kill_switch_from_telegram_stops_the_next_cycles(tmp_path: Path, fake_api_cls: Any) -> None:
    config = load_config(
        env_file=None,
        environ={
            "DATABASE_URL": migrated_sqlite_url(tmp_path / "rt.sqlite3"),
            "LOG_FORMAT": "json",
            "DATA_DIR": str(tmp_path),
        },
    )
    log = configure_logging(config, mode="dryrun", stream=io.StringIO())
    options = RunOptions(
        replay_from_ms=parse_date_ms("2025-10-01", "d"),
        cycles=60,
        cost_model="fixed",
        spread_bps=2.0,
        slippage_bps=1.0,
        health=False,
        console_signals=False,
    )
    parts, extras = build_service(config, options, log)

    first_end: list[int] = []

    async def main() -> list[str]:
        api = fake_api_cls()
        await api.start()
        bot = TelegramBot(TOKEN, [CHAT], extras["operator"], base_url=api.base_url, log=log, poll_timeout_s=1)
        await bot.start()
        try:
            await serve(parts, install_signals=False)  # 60 cycles with the switch off
            first_end.append(parts.loop.stats.last_tick_ms or 0)
            for i, cmd in enumerate(["/threshold 0.57", "/kill_switch on", "/confirm", "/check"], start=1):
                api.push_command(CHAT, cmd)
                await api.wait_sent(i)
            parts.loop.max_cycles = parts.loop.stats.cycles + 90
            await serve(parts, install_signals=False)  # 90 more cycles with the switch on
        finally:
            await bot.stop()
            await api.stop()
        return [m["text"] for m in api.sent]

    texts = asyncio.run(main())
    assert texts[0].startswith("[DRY-RUN] low threshold set to 0.57")
    assert texts[2].startswith("[DRY-RUN] kill switch is now ON") and "kill switch: ON" in texts[3]
    n = parts.cycle.n
    assert n.blocks["kill_switch"] > 0
    signals = extras["repos"]["signal_log"].signals()
    assert n.signals == len(signals) > 0
    assert max(s.created_at_ms for s in signals) <= first_end[0]  # nothing emitted after the switch
    assert parts.loop.stats.cycles == 150
    state = extras["repos"]["state"].load("replay")  # a replay saves its state under its own mode
    assert state.policy.kill_switch is True and state.thresholds.low == 0.57
    logging.getLogger("trading_ai").handlers.clear()
