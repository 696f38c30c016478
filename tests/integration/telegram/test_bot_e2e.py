"""The real python-telegram-bot against a fake Bot API server on 127.0.0.1: every command goes in as a
real update, replies come back through sendMessage; unauthorised chats get nothing."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from adapters.notifiers.telegram.bot import TelegramBot, TelegramNotifier, parse_threshold
from domain.errors import UserError
from domain.signals import Direction, Mode, Signal, Tier, TierThresholds
from ports.operator import (
    CheckReport,
    DailyRow,
    FtmoStatusReport,
    PositionReport,
    RetrainRequest,
    StatsReport,
    StatsRow,
)

TOKEN = "123456:TEST-TOKEN"
OPERATOR_CHAT = 777
STRANGER = 666


class RecordingOperator:
    """OperatorCommands with real threshold validation (domain TierThresholds) and a call log."""

    def __init__(self) -> None:
        self.thresholds = TierThresholds()
        self.kill = False
        self.retrains: list[str] = []
        self.calls: list[str] = []
        self.fail_stats = False

    def check(self) -> CheckReport:
        self.calls.append("check")
        return CheckReport(
            mode="dryrun",
            now_ms=1_760_000_000_000,
            kill_switch=self.kill,
            halted=False,
            halt_reason="",
            broker_ok=True,
            open_positions=1,
            thresholds=(
                ("LOW", self.thresholds.low),
                ("MEDIUM", self.thresholds.medium),
                ("HIGH", self.thresholds.high),
            ),
            last_scan_ms=1_759_999_880_000,
        )

    def stats(self, days: int = 7) -> StatsReport:
        self.calls.append(f"stats:{days}")
        if self.fail_stats:
            raise RuntimeError("database is locked")
        return StatsReport(
            days=days,
            mode="dryrun",
            trades=4,
            wins=3,
            win_rate=0.75,
            total_r=2.5,
            rows=(StatsRow("tier", "HIGH", 4, 3, 0.75, 0.625, 2.5),),
        )

    def ftmo_status(self) -> FtmoStatusReport:
        self.calls.append("ftmo")
        return FtmoStatusReport(
            balance=101_000,
            equity=100_800,
            initial_balance=100_000,
            day_start_balance=100_500,
            daily_floor=95_250,
            total_floor=91_000,
            daily_headroom=5_550,
            total_headroom=9_800,
            profit=1_000,
            profit_target=10_000,
            trading_days=2,
            min_trading_days=4,
            halted=False,
        )

    def set_threshold(self, tier: Tier, value: float) -> tuple[tuple[str, float], ...]:
        self.calls.append(f"threshold:{tier.name}:{value}")
        self.thresholds = self.thresholds.with_threshold(tier, value)
        t = self.thresholds
        return (("LOW", t.low), ("MEDIUM", t.medium), ("HIGH", t.high))

    def kill_switch(self, on: bool) -> bool:
        self.calls.append(f"kill:{on}")
        self.kill = on
        return on

    def request_retrain(self, reason: str = "") -> RetrainRequest:
        self.calls.append("retrain")
        self.retrains.append(reason)
        return RetrainRequest(request_id=f"rt-{len(self.retrains)}", requested_at_ms=1, reason=reason)

    def force_signal(self, pair: str, direction: Direction | None = None) -> Any:
        raise NotImplementedError

    def positions(self) -> tuple[PositionReport, ...]:
        self.calls.append("positions")
        return (
            PositionReport(
                "p1", "BTC/USDT", "long", 0.5, 60_000.0, 59_400.0, 61_200.0, 1_759_990_000_000, 60_300.0, 150.0
            ),
            PositionReport("p2", "ETH/USDT", "short", 2.0, 4_000.0, 4_040.0, None, 1_759_995_000_000, None, None),
        )

    def daily(self, days: int = 7) -> tuple[DailyRow, ...]:
        self.calls.append(f"daily:{days}")
        return tuple(DailyRow(f"2025-10-{10 - k:02d}", k, k // 2, 0.5 * k) for k in range(days))

    def recent_signals(self, n: int = 5) -> tuple[Signal, ...]:
        self.calls.append(f"signals:{n}")
        sigs = [
            Signal(
                f"s{k}",
                "BTC/USDT",
                Direction.LONG,
                Tier.HIGH,
                0.7,
                60_000.0,
                61_200.0,
                59_400.0,
                2.0,
                1_760_000_000_000 - k * 60_000,
                mode=Mode.DRYRUN,
            )
            for k in range(3)
        ]
        return tuple(sigs[:n])

    def recent_blocks(self, n: int = 10) -> tuple[Any, ...]:
        return ()


def test_parse_threshold_validates() -> None:
    assert parse_threshold(["0.62"]) == (Tier.LOW, 0.62)
    assert parse_threshold(["high", "70"]) == (Tier.HIGH, 0.7)
    for bad in (["abc"], ["0.3"], ["101"], [], ["none", "0.6"]):
        with pytest.raises(UserError):
            parse_threshold(bad)


def test_all_six_commands_over_the_real_library(fake_api_cls: Any, caplog: pytest.LogCaptureFixture) -> None:
    op = RecordingOperator()
    log = logging.getLogger("test.telegram")

    async def main() -> tuple[Any, TelegramBot]:
        api = fake_api_cls()
        await api.start()
        bot = TelegramBot(
            TOKEN,
            [OPERATOR_CHAT],
            op,
            mode=Mode.DRYRUN,
            base_url=api.base_url,
            log=log,
            status_extra=lambda: "last cycle 12 ms",
            poll_timeout_s=1,
        )
        await bot.start()
        try:
            script = [
                (STRANGER, "/check"),  # ignored
                (OPERATOR_CHAT, "/check"),
                (OPERATOR_CHAT, "/stats"),
                (OPERATOR_CHAT, "/ftmo_status"),
                (OPERATOR_CHAT, "/threshold 0.58"),
                (OPERATOR_CHAT, "/threshold 0.62"),  # breaks low <= medium: refused by the domain
                (OPERATOR_CHAT, "/threshold 0.3"),
                (OPERATOR_CHAT, "/kill_switch on"),
                (OPERATOR_CHAT, "/confirm"),
                (OPERATOR_CHAT, "/retrain"),
                (OPERATOR_CHAT, "/confirm"),
                (STRANGER, "/kill_switch off"),  # ignored
            ]
            expected = 0
            for chat, text in script:
                api.push_command(chat, text)
                if chat == OPERATOR_CHAT:
                    expected += 1
                    await api.wait_sent(expected)
            # A failing handler answers with an error and the bot keeps answering.
            op.fail_stats = True
            api.push_command(OPERATOR_CHAT, "/stats 30")
            await api.wait_sent(expected + 1)
            op.fail_stats = False
            api.push_command(OPERATOR_CHAT, "/stats 30")
            await api.wait_sent(expected + 2)
            # A signal goes out through the queue with its mode tag.
            notifier = TelegramNotifier(bot)
            await asyncio.to_thread(
                notifier.send_signal,
                Signal(
                    "sig-1",
                    "BTC/USDT",
                    Direction.LONG,
                    Tier.HIGH,
                    0.71,
                    60_000.0,
                    61_200.0,
                    59_400.0,
                    2.0,
                    1_760_000_000_000,
                    ("lstm:v1",),
                    (),
                    Mode.DRYRUN,
                ),
            )
            await api.wait_sent(expected + 3)
            await asyncio.sleep(0.3)  # give a stray reply to the stranger time to show up
        finally:
            await bot.stop()
            await api.stop()
        return api, bot

    with caplog.at_level(logging.INFO, logger="test.telegram"):
        api, bot = asyncio.run(main())

    texts = [m["text"] for m in api.sent]
    assert all(m["chat_id"] == OPERATOR_CHAT for m in api.sent)
    check, stats, ftmo, thr, thr_order, thr_bad, kill_ask, kill_done, rt_ask, rt_done, err, stats30, sig = texts
    assert "[DRY-RUN]" in check and "kill switch: off" in check and "last cycle 12 ms" in check
    assert "last 7 days: 4 closed, 3 won (75.0%)" in stats and "last 30 days" in stats
    assert "balance 101,000.00" in ftmo and "trading days 2/4" in ftmo
    assert thr.startswith("[DRY-RUN] low threshold set to 0.58; now low 0.58, medium 0.60")
    assert thr_order.startswith("[DRY-RUN] error: tier thresholds must satisfy")
    assert thr_bad.startswith("[DRY-RUN] error:") and "outside" in thr_bad
    assert "Confirm" in kill_ask and kill_done.startswith("[DRY-RUN] kill switch is now ON")
    assert "Confirm" in rt_ask and rt_done == "[DRY-RUN] retrain queued: request rt-1"
    assert err.startswith("[DRY-RUN] error: /stats failed") and "still running" in err
    assert all(t.startswith("[DRY-RUN]") or t.startswith("ALERT [DRY-RUN]") for t in texts)  # every message
    assert "last 30 days" in stats30
    assert sig.startswith("[DRY-RUN] BTC/USDT LONG | tier HIGH | conf 71.0%") and "RR 2.00" in sig
    assert op.kill is True and op.thresholds.low == 0.58 and op.retrains == ["requested from Telegram"]
    assert "kill:False" not in op.calls  # the stranger's /kill_switch off did nothing
    assert bot.unauthorised == 2
    assert sum(1 for r in caplog.records if r.getMessage() == "telegram_unauthorised") == 2
    offsets = api.offsets
    assert offsets == sorted(offsets) and offsets[-1] >= 14  # offsets advance past every update seen


def test_outage_is_retried_and_does_not_block_the_sender(fake_api_cls: Any) -> None:
    async def main() -> tuple[Any, float]:
        api = fake_api_cls()
        await api.start()
        api.fail_send = 2
        bot = TelegramBot(
            TOKEN,
            [OPERATOR_CHAT],
            RecordingOperator(),
            base_url=api.base_url,
            log=logging.getLogger("test.telegram"),
            poll_timeout_s=1,
            first_backoff_s=0.05,
        )
        await bot.start()
        try:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            await asyncio.to_thread(TelegramNotifier(bot).send_alert, "kill_switch", "signal attempted")
            enqueue_s = loop.time() - t0
            await api.wait_sent(1)
        finally:
            await bot.stop()
            await api.stop()
        assert bot.outbox.stats.retries == 2 and bot.outbox.stats.sent == 1
        return api, enqueue_s

    api, enqueue_s = asyncio.run(main())
    assert api.sent[0]["text"].startswith("ALERT [DRY-RUN] kill_switch")
    assert enqueue_s < 0.5  # queued while Telegram was failing; never waited for delivery


def test_operator_reads_buttons_and_the_mode_tag(fake_api_cls: Any) -> None:
    """/status /profit /daily /balance /performance /signals /help, and the inline Confirm/Cancel buttons
    beside /confirm, through the real library; a stranger's button press does nothing."""
    op = RecordingOperator()

    async def main() -> Any:
        api = fake_api_cls()
        await api.start()
        bot = TelegramBot(
            TOKEN,
            [OPERATOR_CHAT],
            op,
            mode=Mode.LIVE,
            base_url=api.base_url,
            log=logging.getLogger("test.telegram"),
            poll_timeout_s=1,
        )
        await bot.start()
        try:
            n = 0
            for text in (
                "/status",
                "/profit",
                "/profit 7",
                "/daily 3",
                "/balance",
                "/performance",
                "/signals 2",
                "/help",
                "/daily abc",
                "/kill_switch on",
            ):
                api.push_command(OPERATOR_CHAT, text)
                n += 1
                await api.wait_sent(n)
            confirm, cancel = (b["callback_data"] for b in api.sent[-1]["buttons"])
            api.push_button(STRANGER, confirm)  # ignored: not an allowed chat
            api.push_button(OPERATOR_CHAT, confirm)
            await api.wait_sent(n + 1)
            api.push_button(OPERATOR_CHAT, cancel)  # the request is gone: says so, changes nothing
            await api.wait_sent(n + 2)
            api.push_command(OPERATOR_CHAT, "/retrain")
            await api.wait_sent(n + 3)
            _, cancel2 = (b["callback_data"] for b in api.sent[-1]["buttons"])
            api.push_button(OPERATOR_CHAT, cancel2)
            await api.wait_sent(n + 4)
            api.push_command(OPERATOR_CHAT, "/confirm")  # nothing left to confirm after the cancel
            await api.wait_sent(n + 5)
            await asyncio.sleep(0.3)
        finally:
            await bot.stop()
            await api.stop()
        return api, bot

    api, bot = asyncio.run(main())
    texts = [m["text"] for m in api.sent]
    (
        status,
        profit30,
        profit7,
        daily,
        balance,
        perf,
        signals,
        help_,
        daily_bad,
        kill_ask,
        pressed,
        stale,
        rt_ask,
        rt_cancel,
        nothing,
    ) = texts
    assert all(t.startswith("[LIVE] ") for t in texts), texts
    assert all(m["chat_id"] == OPERATOR_CHAT for m in api.sent) and bot.unauthorised == 1
    assert "2 open positions, floating P&L +150.00" in status
    assert "BTC/USDT LONG 0.5 @ 60,000.00 now 60,300.00 P&L +150.00" in status and "ETH/USDT SHORT" in status
    assert "no quote" in status
    assert "last 30 days: 4 closed, 3 won (75.0%), +2.50 R" in profit30 and "profit +1,000.00 (+1.00%)" in profit30
    assert "last 7 days" in profit7 and "stats:7" in op.calls and "stats:30" in op.calls
    assert daily.count("\n2025-10-") == 3 and "2025-10-08: 2 trades, 1 won, +1.00 R" in daily
    assert "balance 101,000.00  equity 100,800.00  floating -200.00" in balance
    assert perf.endswith("no closed trades")  # the recorded rows are by tier only
    assert signals.count("BTC/USDT LONG HIGH") == 2 and "signals:2" in op.calls
    for cmd in ("/status", "/profit", "/daily", "/balance", "/performance", "/signals", "/help", "/confirm"):
        assert cmd in help_
    assert daily_bad.startswith("[LIVE] error: usage: /daily")
    assert [b["text"] for b in api.sent[9]["buttons"]] == ["Confirm", "Cancel"] and "Confirm" in kill_ask
    assert "queue a retrain" in rt_ask
    assert pressed.startswith("[LIVE] kill switch is now ON") and op.kill is True
    assert stale == "[LIVE] nothing to cancel"
    assert rt_cancel == "[LIVE] cancelled: queue a retrain" and op.retrains == []
    assert nothing == "[LIVE] nothing to confirm"
    assert len(api.answered_callbacks) == 3  # every press by the operator is acknowledged
