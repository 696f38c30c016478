"""A complete system on mocks (synthetic candles: mechanics only, not market data)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.mocks.broker import MockBroker
from adapters.mocks.clock import FakeClock
from adapters.mocks.event_bus import InMemoryEventBus
from adapters.mocks.market_data import InMemoryMarketData, synthetic_candles
from adapters.mocks.notifier import RecordingNotifier
from adapters.mocks.predictor import FixedPredictor
from adapters.mocks.storage import InMemoryRiskBook, InMemorySignalLog
from domain.ftmo import FtmoRules
from domain.market import Candles, Timeframe
from domain.policy import PolicyConfig
from domain.signals import Tier
from domain.trading import DEFAULT_MARGIN_RATE, SymbolSpec
from ports.runtime_state import RuntimeState
from services.execution import RiskDesk
from services.operator_commands import OperatorService
from services.scan_cycle import ScanCycle, ScanSettings

START = 1_704_067_200_000  # 2024-01-01 00:00 UTC
NOW = START + 400 * Timeframe.M5.ms


class System:
    def __init__(self, execute: bool = False, margin_rate: float = DEFAULT_MARGIN_RATE) -> None:
        self.clock = FakeClock(NOW)
        candles = [
            synthetic_candles("BTC/USDT", Timeframe.M5, 400, START, seed=1, start_price=40_000),
            synthetic_candles("ETH/USDT", Timeframe.M5, 400, START, seed=2, start_price=2_000),
        ]
        self.market = InMemoryMarketData(candles)
        self.broker = MockBroker(
            [
                SymbolSpec("BTC/USDT", "BTCUSD", 1.0, margin_rate=margin_rate),
                SymbolSpec("ETH/USDT", "ETHUSD", 1.0, margin_rate=margin_rate),
            ],
            self.clock,
        )
        for c in candles:
            px = float(c.close[-1])
            self.broker.set_quote(c.symbol, px, px)
        self.lstm = FixedPredictor("lstm", "l1", {"BTC/USDT": 0.80, "ETH/USDT": 0.55})
        self.transformer = FixedPredictor("transformer", "t1", {"BTC/USDT": 0.80, "ETH/USDT": 0.55})
        self.notifier = RecordingNotifier()
        self.risk_book = InMemoryRiskBook()
        self.log = InMemorySignalLog()
        self.bus = InMemoryEventBus()
        self.features_seen: list[Candles] = []
        self.desk = RiskDesk(
            FtmoRules(100_000),
            PolicyConfig(max_per_hour=10, max_per_hour_by_tier={Tier.HIGH: 5}),
            RuntimeState("dryrun"),
        )
        self.cycle = ScanCycle(
            ScanSettings(("BTC/USDT", "ETH/USDT"), Timeframe.M5, execute=execute),
            self.desk,
            self.market,
            [self.lstm, self.transformer],
            self._features,
            self.broker,
            self.notifier,
            self.risk_book,
            self.log,
            self.bus,
            self.clock,
        )
        self.ops = OperatorService(self.cycle)

    def _features(self, c: Candles) -> Any:
        self.features_seen.append(c)
        return c

    def scan(self, n: int = 1) -> Any:
        rep = None
        for _ in range(n):
            rep = self.cycle.run_once()
            self.clock.advance(120_000)
        return rep


@pytest.fixture
def system() -> System:
    return System()


@pytest.fixture
def live_system() -> System:
    return System(execute=True)
