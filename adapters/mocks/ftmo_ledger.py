"""An in-memory FtmoLedgerStore for contract tests and the demo."""

from __future__ import annotations

from domain.ftmo import FtmoState


class InMemoryFtmoLedgerStore:
    def __init__(self) -> None:
        self.rows: dict[str, FtmoState] = {}

    def load(self, mode: str) -> FtmoState | None:
        return self.rows.get(mode)

    def save(self, mode: str, ledger: FtmoState, now_ms: int) -> None:
        self.rows[mode] = ledger
