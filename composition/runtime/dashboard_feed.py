"""What the live dashboard shows, read through the OperatorCommands port (the same reads Telegram's
/ftmo_status, /status and /signals answer with, so the page and the bot can never disagree)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from ports.operator import OperatorCommands


def dashboard_snapshot(
    operator: OperatorCommands, *, model: str, cycles: Callable[[], int], n_signals: int = 10, n_blocks: int = 10
) -> Callable[[], dict[str, Any]]:
    """A snapshot function for adapters.http.dashboard.DashboardServer (read-only)."""

    def snapshot() -> dict[str, Any]:
        chk = operator.check()
        ftmo = operator.ftmo_status()
        return {
            "mode": chk.mode,
            "model": model,
            "now_ms": chk.now_ms,
            "last_cycle_ms": chk.last_scan_ms,
            "cycles": cycles(),
            "kill_switch": chk.kill_switch,
            "halted": chk.halted,
            "halt_reason": chk.halt_reason,
            "broker_ok": chk.broker_ok,
            "thresholds": dict(chk.thresholds),
            "ftmo": attrs.asdict(ftmo),
            "positions": [attrs.asdict(p) for p in operator.positions()],
            "signals": [
                {
                    "at_ms": s.created_at_ms,
                    "pair": s.pair,
                    "direction": s.direction.value,
                    "tier": s.tier.name,
                    "confidence": s.confidence,
                    "entry": s.entry,
                    "sl": s.sl,
                    "tp": s.tp,
                    "signal_id": s.signal_id,
                }
                for s in operator.recent_signals(n_signals)
            ],
            "blocks": [
                {"at_ms": b.at_ms, "pair": b.pair, "reason": b.reason.value, "detail": b.detail, "tier": b.tier.name}
                for b in operator.recent_blocks(n_blocks)
            ],
        }

    return snapshot
