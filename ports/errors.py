"""Typed errors raised by port implementations.

User-fixable ones (an unknown symbol or timeframe) subclass `domain.errors.UserError` so the CLI
renders them as one line with exit code 2. Broker and storage failures are operational errors the
runtime handles (retry, alert, block) rather than user mistakes.
"""

from __future__ import annotations

from domain.errors import UserError


class UnknownSymbol(UserError):
    """The adapter does not serve this symbol; the message lists what it does serve."""


class UnknownTimeframe(UserError):
    """The adapter does not serve this timeframe; the message lists what it does serve."""


class UnknownModel(UserError):
    """No model with this name/version is registered."""


class BrokerError(Exception):
    """Base of every broker failure."""


class OrderRejected(BrokerError):
    """The broker refused the order (invalid stops, volume, symbol, trading disabled)."""


class Requote(BrokerError):
    """The price moved; the order was not filled and may be retried with a new price."""


class MarketClosed(BrokerError):
    """The market for this symbol is closed now."""


class BrokerDisconnected(BrokerError):
    """The connection to the broker/terminal is down; nothing was sent."""


class InsufficientMargin(OrderRejected):
    """Not enough free margin for this volume."""


class UnknownPosition(BrokerError):
    """No open position with this id."""


class StorageError(Exception):
    """A repository could not read or write."""


class StaleSchema(StorageError):
    """The database schema is older than the code expects; run the migrations (`alembic upgrade head`)."""


class DuplicateRecord(StorageError):
    """A record with this unique key exists and differs from the one being inserted."""
