"""Contracts of the storage repositories (risk book, patterns, deployments, signal log).

Factories get tmp_path and return an empty repository. Storage adapters append to RISK_BOOKS,
PATTERNS, DEPLOYMENTS and SIGNAL_LOGS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.mocks.storage import (
    InMemoryDeployments,
    InMemoryOrderIntents,
    InMemoryPatterns,
    InMemoryRiskBook,
    InMemorySignalLog,
    InMemoryStorage,
)
from domain.deployment import Deployment
from domain.order_intent import OrderIntent
from domain.risk_book import PatternStat, TradeRecord
from domain.signals import Block, BlockReason, Direction, Mode, Signal, Tier
from ports.errors import DuplicateRecord, StorageError
from ports.storage import (
    DeploymentRepository,
    OrderIntentRepository,
    PatternRepository,
    RiskBookRepository,
    SignalLogRepository,
)

RISK_BOOKS: list[Any] = [pytest.param(lambda tmp_path: InMemoryRiskBook(), id="mock")]
PATTERNS: list[Any] = [pytest.param(lambda tmp_path: InMemoryPatterns(), id="mock")]
DEPLOYMENTS: list[Any] = [pytest.param(lambda tmp_path: InMemoryDeployments(), id="mock")]
SIGNAL_LOGS: list[Any] = [pytest.param(lambda tmp_path: InMemorySignalLog(), id="mock")]
ORDER_INTENTS: list[Any] = [pytest.param(lambda tmp_path: InMemoryOrderIntents(), id="mock")]

# SQL adapters (issue 8): a SQLite file in WAL mode and PostgreSQL in a throwaway schema.
from tests.integration.storage import factories as _sql  # noqa: E402

RISK_BOOKS += _sql.params("risk_book")
PATTERNS += _sql.params("patterns")
DEPLOYMENTS += _sql.params("deployments")
SIGNAL_LOGS += _sql.params("signal_log")
ORDER_INTENTS += _sql.params("order_intents")
# RiskBookQueries and StorageUnitOfWork: the in-memory risk book / store, then the SQL adapters.
QUERIES: list[Any] = [pytest.param(lambda tmp_path: InMemoryRiskBook(), id="mock"), *_sql.params("risk_book")]
STORES: list[Any] = [pytest.param(lambda tmp_path: InMemoryStorage(), id="mock"), *_sql.params(None)]


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
    return TradeRecord(
        sid,
        "BTC/USDT",
        Tier.HIGH,
        t,
        100.0,
        110.0,
        95.0,
        2.0,
        mode=mode,
        spread_bps=1.5,
        slippage_expected_bps=2.0,
        latency_ms=120.0,
        model_version="lstm:v1",
        session="london",
    )


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


def sig(sid: str, t: int, mode: Mode = Mode.DRYRUN) -> Signal:
    return Signal(
        sid,
        "BTC/USDT",
        Direction.LONG,
        Tier.HIGH,
        0.7,
        100,
        110,
        95,
        2.0,
        t,
        ("lstm:v1",),
        ("bias:-0.05",),
        mode,
    )


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
    signal_log.log_signal(sig("r1", 15, Mode.REPLAY))  # a replay's pending signal is not a dry-run's to send
    assert [s.signal_id for s in signal_log.pending()] == ["r1", "s2"]
    assert [s.signal_id for s in signal_log.pending(Mode.DRYRUN)] == ["s2"]
    assert [s.signal_id for s in signal_log.pending(Mode.REPLAY)] == ["r1"] and signal_log.pending(Mode.LIVE) == []
    signal_log.mark_sent("r1")
    assert [s.signal_id for s in signal_log.signals()] == ["s1", "r1", "s2"]
    assert [s.signal_id for s in signal_log.signals(16)] == ["s2"]
    assert signal_log.signals()[2] == sig("s2", 20)
    with pytest.raises(StorageError):
        signal_log.mark_sent("nope")
    b1 = Block("BTC/USDT", BlockReason.DAILY_LOSS, "floor", 5, Tier.HIGH, 0.7, Mode.DRYRUN)
    b2 = Block("ETH/USDT", BlockReason.KILL_SWITCH, "on", 30)
    signal_log.log_block(b1)
    signal_log.log_block(b2)
    assert signal_log.blocks() == [b1, b2] and signal_log.blocks(10) == [b2]


@pytest.fixture(params=ORDER_INTENTS)
def order_intents(request: pytest.FixtureRequest, tmp_path: Path) -> OrderIntentRepository:
    return _build(request, tmp_path)  # type: ignore[no-any-return]


def intent(cid: str, t: int, mode: Mode = Mode.LIVE) -> OrderIntent:
    return OrderIntent(cid, "BTC/USDT", Direction.SHORT, 0.25, 105.0, 90.0, 100.0, Tier.MEDIUM, mode, t)


def test_order_intents(order_intents: OrderIntentRepository) -> None:
    assert isinstance(order_intents, OrderIntentRepository)
    order_intents.add(intent("o2", 20))
    order_intents.add(intent("o1", 10))
    order_intents.add(intent("o3", 5, Mode.DRYRUN))
    order_intents.add(intent("o1", 10))  # identical again: no-op
    with pytest.raises(DuplicateRecord):
        order_intents.add(attrs.evolve(intent("o1", 10), volume=9.0))
    assert order_intents.get("o1") == intent("o1", 10) and order_intents.get("nope") is None
    assert [i.client_order_id for i in order_intents.pending()] == ["o3", "o1", "o2"]
    assert [i.client_order_id for i in order_intents.pending(Mode.LIVE)] == ["o1", "o2"]
    order_intents.mark_sent("o1", 30, "pos-7")
    order_intents.mark_sent("o1", 31, "pos-7")  # idempotent
    order_intents.mark_failed("o2", 40, "broker: rejected")
    got = order_intents.get("o1")
    assert got is not None and (got.status, got.position_id, got.updated_at_ms) == ("sent", "pos-7", 30)
    failed = order_intents.get("o2")
    assert failed is not None and (failed.status, failed.detail) == ("failed", "broker: rejected")
    assert [i.client_order_id for i in order_intents.pending()] == ["o3"]
    with pytest.raises(StorageError):
        order_intents.mark_failed("o1", 50, "too late")  # sent never becomes failed
    with pytest.raises(StorageError):
        order_intents.mark_sent("o2", 50)
    with pytest.raises(StorageError):
        order_intents.mark_sent("nope", 50)


def test_unit_of_work_holds_the_intent_with_the_signal(store: Any) -> None:
    store.order_intents.add(intent("u9", 10))
    with store.unit_of_work() as uow:
        uow.signal_log.log_signal(sig("u9", 10))
        uow.order_intents.mark_sent("u9", 11, "p1")
        # not committed
    assert store.order_intents.get("u9").status == "pending" and store.signal_log.status("u9") is None
    with store.unit_of_work() as uow:
        uow.signal_log.log_signal(sig("u9", 10))
        uow.order_intents.mark_sent("u9", 11, "p1")
        uow.commit()
    assert store.order_intents.get("u9").status == "sent" and store.signal_log.status("u9") == "pending"


# --- RiskBookQueries: the plan's query patterns (issue 8) ------------------------------------------

DAY = 86_400_000


@pytest.fixture(params=QUERIES)
def queries(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return _build(request, tmp_path)


def _book() -> list[TradeRecord]:
    """Closed and open records over 40 days in two modes, three sessions and two model versions."""
    out = []
    for i in range(40):
        mode = Mode.LIVE if i % 4 == 0 else Mode.DRYRUN
        r = TradeRecord(
            f"q{i:02d}",
            "ETH/USDT" if i % 3 else "BTC/USDT",
            Tier.MEDIUM,
            1_000 * DAY + i * DAY,
            100.0,
            110.0,
            95.0,
            2.0,
            mode=mode,
            model_version=("v1", "v2", "")[i % 3],
            session=("tokyo", "london", "new_york", "")[i % 4],
        )
        if i % 5 != 4:  # every fifth stays open
            r = r.close(r.entry_time_ms + 3_600_000, 110.0 if i % 3 != 1 else 96.0)
        out.append(r)
    return out


def test_queries_match_domain_risk_stats(queries: Any) -> None:
    from domain.risk_stats import group_stats, summarise
    from ports.storage import RiskBookQueries

    assert isinstance(queries, RiskBookQueries) and isinstance(queries, RiskBookRepository)  # a store is both
    book = _book()
    for r in book:
        queries.add(r)
    now = 1_040 * DAY
    for days in (7, 30):
        since = now - days * DAY
        for mode in (None, Mode.DRYRUN, Mode.LIVE):
            closed = [r for r in book if r.result and r.entry_time_ms >= since and (mode is None or r.mode == mode)]
            got = queries.performance(since, mode=mode)
            want = summarise(closed)
            assert (got.key, got.trades, got.wins) == (want.key, want.trades, want.wins)
            assert got.total_r == pytest.approx(want.total_r)
    bounded = queries.performance(1_010 * DAY, until_ms=1_020 * DAY)
    assert bounded.trades == len([r for r in book if r.result and 1_010 * DAY <= r.entry_time_ms < 1_020 * DAY])
    assert queries.performance(now + DAY).trades == 0
    closed_all = [r for r in book if r.result]
    for got_groups, by in ((queries.by_model_version(), "model_version"), (queries.by_session(), "session")):
        want_groups = group_stats(closed_all, by)
        assert [(g.key, g.trades, g.wins) for g in got_groups] == [(g.key, g.trades, g.wins) for g in want_groups]
        assert [g.total_r for g in got_groups] == pytest.approx([g.total_r for g in want_groups])
    live_v = queries.by_model_version(since_ms=1_020 * DAY, mode=Mode.LIVE)
    want_v = group_stats(
        [r for r in closed_all if r.mode == Mode.LIVE and r.entry_time_ms >= 1_020 * DAY], "model_version"
    )
    assert [(g.key, g.trades, g.wins) for g in live_v] == [(g.key, g.trades, g.wins) for g in want_v]


# --- StorageUnitOfWork: a signal and its risk-book row in one transaction (issue 8) ------------------


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    return _build(request, tmp_path)


def test_unit_of_work_commits_signal_and_record_together(store: Any) -> None:
    from ports.storage import StorageUnitOfWork

    s1, r1 = sig("u1", 10), rec("u1", 10)
    with store.unit_of_work() as uow:
        assert isinstance(uow, StorageUnitOfWork)
        uow.signal_log.log_signal(s1)
        uow.risk_book.add(r1)
        uow.commit()
    assert store.signal_log.status("u1") == "pending" and store.risk_book.get("u1") == r1
    store.signal_log.mark_sent("u1")
    assert store.signal_log.status("u1") == "sent"


def test_unit_of_work_without_commit_or_failing_writes_nothing(store: Any) -> None:
    with store.unit_of_work() as uow:
        uow.signal_log.log_signal(sig("u2", 10))
        uow.risk_book.add(rec("u2", 10))
    assert store.signal_log.status("u2") is None and store.risk_book.get("u2") is None
    store.risk_book.add(rec("u3", 10))
    with pytest.raises(DuplicateRecord), store.unit_of_work() as uow:
        uow.signal_log.log_signal(sig("u3", 10))
        uow.risk_book.add(rec("u3", 99))  # differs from the stored u3
        uow.commit()
    assert store.signal_log.status("u3") is None
    assert store.risk_book.get("u3") == rec("u3", 10)


def test_unit_of_work_writes_are_invisible_outside_until_commit(store: Any) -> None:
    with store.unit_of_work() as uow:
        uow.signal_log.log_signal(sig("u4", 10))
        uow.risk_book.add(rec("u4", 10))
        assert uow.signal_log.status("u4") == "pending" and uow.risk_book.get("u4") == rec("u4", 10)
        assert store.signal_log.status("u4") is None and store.risk_book.get("u4") is None
        uow.commit()
    assert store.signal_log.status("u4") == "pending" and store.risk_book.get("u4") == rec("u4", 10)
