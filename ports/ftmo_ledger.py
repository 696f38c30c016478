"""FtmoLedgerStore: the FTMO ledger survives a restart.

The ledger (domain.ftmo.FtmoState) holds what FTMO measures the account by: the day's start balance
at the last Prague midnight, the highest end-of-day balance (one-step trailing floor), the trading
days and the closed P&L per day. Started over from the current balance after a restart, it would
move the floors (a one-step trailing floor back to the static one, trading days back to 0), so the
runtime saves it after every cycle and restores it at start.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from domain.ftmo import FtmoState


@runtime_checkable
class FtmoLedgerStore(Protocol):
    """Contract:
    - `load(mode)` returns the last saved ledger of that mode, or None if none was saved.
    - `save(mode, ledger)` replaces it atomically; values round-trip exactly (`load(m) == l` after
      `save(m, l)`), floats included.
    - Failures raise `ports.errors.StorageError`.
    """

    def load(self, mode: str) -> FtmoState | None: ...

    def save(self, mode: str, ledger: FtmoState, now_ms: int) -> None: ...
