"""JSON shapes of the broker records a broker adapter stores or sends: the paper account's state file
and the REST shim's wire (adapters/brokers/rest_shim/wire.py) both use these."""

from __future__ import annotations

from typing import Any

from domain.signals import Direction
from domain.trading import Fill, Position


def _dir(value: str | None) -> Direction | None:
    return Direction(value) if value else None


def position_to(p: Position) -> dict[str, Any]:
    return {
        "position_id": p.position_id,
        "pair": p.pair,
        "direction": p.direction.value,
        "volume": p.volume,
        "entry": p.entry,
        "sl": p.sl,
        "tp": p.tp,
        "opened_at_ms": p.opened_at_ms,
        "client_order_id": p.client_order_id,
    }


def position_from(d: dict[str, Any]) -> Position:
    return Position(
        position_id=str(d["position_id"]),
        pair=str(d["pair"]),
        direction=Direction(d["direction"]),
        volume=float(d["volume"]),
        entry=float(d["entry"]),
        sl=float(d["sl"]),
        tp=None if d["tp"] is None else float(d["tp"]),
        opened_at_ms=int(d["opened_at_ms"]),
        client_order_id=str(d["client_order_id"]),
    )


def fill_to(f: Fill) -> dict[str, Any]:
    return {
        "client_order_id": f.client_order_id,
        "pair": f.pair,
        "requested_price": f.requested_price,
        "fill_price": f.fill_price,
        "volume": f.volume,
        "at_ms": f.at_ms,
        "latency_ms": f.latency_ms,
        "position_id": f.position_id,
        "direction": f.direction.value if f.direction else None,
    }


def fill_from(d: dict[str, Any]) -> Fill:
    return Fill(
        client_order_id=str(d["client_order_id"]),
        pair=str(d["pair"]),
        requested_price=float(d["requested_price"]),
        fill_price=float(d["fill_price"]),
        volume=float(d["volume"]),
        at_ms=int(d["at_ms"]),
        latency_ms=float(d["latency_ms"]),
        position_id=str(d["position_id"]),
        direction=_dir(d.get("direction")),
    )
