"""Mode columns accept exactly the values of domain.signals.Mode, on both engines (migration 0008 added
`replay`); upgrading an 0007 database keeps every row, moves the rows earlier replays wrote under
`dryrun` (their `r<hex>-` signal ids) to `replay`, and keeps every other CHECK of the rebuilt tables."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from adapters.storage import migrate
from adapters.storage import tables as t
from adapters.storage.engine import create_engine_for
from domain.signals import Mode

MODE_TABLES = (t.risk_book, t.signal_log, t.block_log, t.order_intents)
REPLAY_ID = "r19a0b1c2d3e-BTCUSDT-1759276800000-long"  # composition.containers.replay_run_prefix()
DRY_ID = "BTCUSDT-1759276800000-long"


def _row(table: sa.Table, mode: str, sid: str) -> dict[str, Any]:
    if table is t.risk_book:
        return dict(
            signal_id=sid, pair="BTC/USDT", tier="HIGH", entry_time=1, entry_price=100.0, tp_price=102.0,
            sl_price=99.0, rr_expected=2.0, mode=mode,
        )  # fmt: skip
    if table is t.signal_log:
        return dict(
            signal_id=sid, pair="BTC/USDT", direction="long", tier="HIGH", confidence=0.7, entry=100.0, tp=102.0,
            sl=99.0, rr=2.0, created_at=1, mode=mode,
        )  # fmt: skip
    if table is t.block_log:
        return dict(pair="BTC/USDT", reason="kill_switch", detail=sid, at=1, tier="HIGH", mode=mode)
    return dict(client_order_id=sid, pair="BTC/USDT", side="long", volume=0.01, sl=99.0, tier="HIGH", mode=mode,
                created_at=1)  # fmt: skip


def _insert(url: str, table: sa.Table, mode: str, sid: str) -> None:
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(table.insert().values(**_row(table, mode, sid)))
    finally:
        engine.dispose()


def _rows(url: str) -> dict[str, list[dict[str, Any]]]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as conn:
            return {
                table.name: [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.id)).mappings()]
                for table in (*MODE_TABLES, t.patterns)
            }
    finally:
        engine.dispose()


def _insert_checked(url: str, table: sa.Table, **values: Any) -> None:
    engine = create_engine_for(url)
    try:
        with engine.begin() as conn:
            conn.execute(table.insert().values(**{**_row(table, "live", f"chk-{table.name}"), **values}))
    finally:
        engine.dispose()


@pytest.mark.parametrize("table", MODE_TABLES, ids=lambda x: x.name)
def test_every_mode_is_stored_and_an_unknown_one_refused(db_url: str, table: sa.Table) -> None:
    for i, mode in enumerate(Mode):
        _insert(db_url, table, mode.value, f"{mode.value}-{i}")
    for bad in ("dry-run", "replays", "LIVE", ""):
        with pytest.raises(IntegrityError):
            _insert(db_url, table, bad, f"bad-{bad}")


def test_upgrade_0007_to_0008_keeps_rows_and_moves_old_replay_rows_to_replay(empty_db_url: str) -> None:
    url = empty_db_url
    migrate.upgrade(url, "0007")
    for table in MODE_TABLES:
        for mode, sid in (("dryrun", DRY_ID), ("dryrun", REPLAY_ID), ("live", "live-1"), ("demo", "demo-1")):
            _insert(url, table, mode, sid)
        with pytest.raises(IntegrityError):  # 0007 does not know the mode yet
            _insert(url, table, "replay", "replay-early")
    engine = create_engine_for(url)
    with engine.begin() as conn:
        conn.execute(
            t.patterns.insert().values(name="p", pattern_hash="h", wins=1, total=2, created_at=1, updated_at=1)
        )
    engine.dispose()
    before = _rows(url)

    assert migrate.upgrade(url) == ("0007", migrate.head())
    after = _rows(url)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    for name, rows in after.items():  # the same rows (ids kept); only an earlier replay's changed its mode
        changed = [(b, a) for b, a in zip(before[name], rows, strict=True) if b != a]
        assert all({k for k in a if a[k] != b[k]} == {"mode"} for b, a in changed), name
        if name in ("risk_book", "signal_log", "order_intents"):
            key = "client_order_id" if name == "order_intents" else "signal_id"
            assert {r[key]: r["mode"] for r in rows} == {
                DRY_ID: "dryrun", REPLAY_ID: "replay", "live-1": "live", "demo-1": "demo"
            }, name  # fmt: skip
        else:  # blocks carry no signal id: an earlier replay's cannot be told apart and stay as they were
            assert changed == [], name

    for table in MODE_TABLES:
        _insert(url, table, "replay", f"replay-{table.name}")
        with pytest.raises(IntegrityError):
            _insert(url, table, "bogus", f"bogus-{table.name}")
    # the tables SQLite rebuilt kept their other checks
    for table, column in ((t.risk_book, "result"), (t.signal_log, "status"), (t.order_intents, "status")):
        with pytest.raises(IntegrityError):
            _insert_checked(url, table, **{column: "X"})

    # downgrade: replay rows go back to dryrun (as recorded before 0008), and the old check holds again
    assert migrate.downgrade(url, "0007") == (migrate.head(), "0007")
    back = _rows(url)
    for table in MODE_TABLES:
        modes = {r["mode"] for r in back[table.name]}
        assert "replay" not in modes and "dryrun" in modes, table.name
        with pytest.raises(IntegrityError):
            _insert(url, table, "replay", f"replay-again-{table.name}")
