"""Contracts of the storage repositories (risk book, patterns, deployments, signal log).

Factories get tmp_path and return an empty repository. Storage adapters append to RISK_BOOKS,
PATTERNS, DEPLOYMENTS and SIGNAL_LOGS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from adapters.mocks.storage import InMemoryDeployments, InMemoryPatterns, InMemoryRiskBook, InMemorySignalLog
from domain.deployment import Deployment
from domain.risk_book import PatternStat, TradeRecord
from domain.signals import Block, BlockReason, Direction, Mode, Signal, Tier
from ports.errors import DuplicateRecord, StorageError
from ports.storage import DeploymentRepository, PatternRepository, RiskBookRepository, SignalLogRepository

RISK_BOOKS: list[Any] = [pytest.param(lambda tmp_path: InMemoryRiskBook(), id="mock")]
PATTERNS: list[Any] = [pytest.param(lambda tmp_path: InMemoryPatterns(), id="mock")]
DEPLOYMENTS: list[Any] = [pytest.param(lambda tmp_path: InMemoryDeployments(), id="mock")]
SIGNAL_LOGS: list[Any] = [pytest.param(lambda tmp_path: InMemorySignalLog(), id="mock")]


def _build(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    factory: Callable[[Path], Any] = request.param
    return factory(tmp_path)


@pytest.fixture(params=RISK_BOOKS)
def risk_book(request: pytest.FixtureRequest, tmp_path: Path) -> RiskBookRepository:
    return _build(request, tmp_path)  # type: ignore[no-any-return]


@pytest.fixture(params=PATTERNS)
def patterns(request: pytest.FixtureRequest, tmp_path: Path) -> PatternRepository:
    return _build(request, tmp_path)  # type: ignore[no-any-return]


@pytest.fixture(params=DEPLOYMENTS)
def deployments(request: pytest.FixtureRequest, tmp_path: Path) -> DeploymentRepository:
    return _build(request, tmp_path)  # type: ignore[no-any-return]


@pytest.fixture(params=SIGNAL_LOGS)
def signal_log(request: pytest.FixtureRequest, tmp_path: Path) -> SignalLogRepository:
    return _build(request, tmp_path)  # type: ignore[no-any-return]


def rec(sid: str, t: int, mode: Mode = Mode.DRYRUN) -> TradeRecord:
    return TradeRecord(sid, "BTC/USDT", Tier.HIGH, t, 100.0, 110.0, 95.0, 2.0, mode=mode, spread_bps=1.5,
                       slippage_expected_bps=2.0, latency_ms=120.0, model_version="lstm:v1", session="london")


def test_risk_book(risk_book: RiskBookRepository) -> None:
    assert isinstance(risk_book, RiskBookRepository)
    risk_book.add(rec("b", 20))
    risk_book.add(rec("a", 20))
    risk_book.add(rec("c", 10, Mode.LIVE))
    risk_book.add(rec("a", 20))  # identical: no-op
    with pytest.raises(DuplicateRecord):
        risk_book.add(rec("a", 30))
    assert [r.signal_id for r in risk_book.records()] == ["c", "a", "b"]
    assert [r.signal_id for r in risk_book.records(since_ms=15)] == ["a", "b"]
    assert [r.signal_id for r in risk_book.records(mode=Mode.LIVE)] == ["c"]
    closed = rec("a", 20).close(5_000, 110.0)
    risk_book.update(closed)
    assert risk_book.get("a") == closed and risk_book.get("zz") is None
    assert [r.signal_id for r in risk_book.open_records()] == ["c", "b"]
    assert [r.signal_id for r in risk_book.open_records(Mode.DRYRUN)] == ["b"]
    with pytest.raises(StorageError):
        risk_book.update(rec("zz", 1))


def test_patterns(patterns: PatternRepository) -> None:
    assert isinstance(patterns, PatternRepository)
    assert patterns.get("h1") is None
    patterns.record_outcome("hammer", "h1", True)
    s = patterns.record_outcome("hammer", "h1", False)
    assert (s.wins, s.total) == (1, 2) and patterns.get("h1") == s
    patterns.upsert(PatternStat("doji", "a0", 30, 40))
    assert [p.pattern_hash for p in patterns.all()] == ["a0", "h1"]
    assert [p.pattern_hash for p in patterns.all(min_total=10)] == ["a0"]


def test_deployments(deployments: DeploymentRepository) -> None:
    assert isinstance(deployments, DeploymentRepository)
    assert deployments.current() is None
    deployments.record(Deployment("v1", "/m/1", 10, '{"brier": 0.2}'))
    deployments.record(Deployment("v2", "/m/2", 20))
    assert deployments.current() == Deployment("v2", "/m/2", 20)
    deployments.mark_rolled_back("v2", "calibration MAE 7%")
    cur = deployments.current()
    assert cur is not None and cur.version == "v1"
    hist = deployments.history()
    assert [d.version for d in hist] == ["v1", "v2"] and hist[1].rollback_reason == "calibration MAE 7%"
    with pytest.raises(StorageError):
        deployments.mark_rolled_back("v9", "x")


def sig(sid: str, t: int) -> Signal:
    return Signal(sid, "BTC/USDT", Direction.LONG, Tier.HIGH, 0.7, 100, 110, 95, 2.0, t, ("lstm:v1",),
                  ("bias:-0.05",), Mode.DRYRUN)


def test_signal_log(signal_log: SignalLogRepository) -> None:
    assert isinstance(signal_log, SignalLogRepository)
    signal_log.log_signal(sig("s2", 20))
    signal_log.log_signal(sig("s1", 10))
    assert signal_log.status("s1") == "pending" and signal_log.status("nope") is None
    signal_log.mark_sent("s1")
    signal_log.mark_sent("s1")
    signal_log.log_signal(sig("s1", 10))  # idempotent, keeps "sent"
    assert signal_log.status("s1") == "sent"
    assert [s.signal_id for s in signal_log.pending()] == ["s2"]
    assert [s.signal_id for s in signal_log.signals()] == ["s1", "s2"]
    assert [s.signal_id for s in signal_log.signals(15)] == ["s2"]
    assert signal_log.signals()[1] == sig("s2", 20)
    with pytest.raises(StorageError):
        signal_log.mark_sent("nope")
    b1 = Block("BTC/USDT", BlockReason.DAILY_LOSS, "floor", 5, Tier.HIGH, 0.7, Mode.DRYRUN)
    b2 = Block("ETH/USDT", BlockReason.KILL_SWITCH, "on", 30)
    signal_log.log_block(b1)
    signal_log.log_block(b2)
    assert signal_log.blocks() == [b1, b2] and signal_log.blocks(10) == [b2]
