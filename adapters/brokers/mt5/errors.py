"""MT5 trade-server return codes mapped to the port's typed errors.

Numbers are MetaTrader 5's TRADE_RETCODE_* values (they are stable across terminal builds), so the
mapping does not need the Windows-only package to be importable.
"""

from __future__ import annotations

from ports.errors import (
    BrokerDisconnected,
    BrokerError,
    InsufficientMargin,
    MarketClosed,
    OrderRejected,
    Requote,
)

DONE_CODES = frozenset({10008, 10009, 10010})  # PLACED, DONE, DONE_PARTIAL

_BY_CODE: dict[int, type[BrokerError]] = {
    10004: Requote,  # REQUOTE
    10020: Requote,  # PRICE_CHANGED
    10021: Requote,  # PRICE_OFF (no quotes to fill at)
    10018: MarketClosed,  # MARKET_CLOSED
    10019: InsufficientMargin,  # NO_MONEY
    10012: BrokerDisconnected,  # TIMEOUT: the request may not have arrived; retry with the same client id
    10031: BrokerDisconnected,  # CONNECTION: no connection with the trade server
    10024: BrokerDisconnected,  # TOO_MANY_REQUESTS: back off, nothing was executed
}


def error_for(retcode: int, comment: str, what: str) -> BrokerError:
    """The typed error for a failed retcode; anything unlisted (invalid stops/volume, trade disabled,
    rejected, ...) is an OrderRejected."""
    cls = _BY_CODE.get(retcode, OrderRejected)
    return cls(f"{what}: MT5 retcode {retcode} ({comment})")
