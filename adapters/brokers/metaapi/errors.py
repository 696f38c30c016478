"""metaapi-cloud-sdk exceptions mapped to the port's typed errors."""

from __future__ import annotations

from domain.errors import ConfigError
from ports.errors import (
    BrokerDisconnected,
    BrokerError,
    InsufficientMargin,
    MarketClosed,
    OrderRejected,
    Requote,
    UnknownPosition,
)

_BY_STRING_CODE: dict[str, type[BrokerError]] = {
    "TRADE_RETCODE_REQUOTE": Requote,
    "TRADE_RETCODE_PRICE_CHANGED": Requote,
    "TRADE_RETCODE_PRICE_OFF": Requote,
    "TRADE_RETCODE_MARKET_CLOSED": MarketClosed,
    "TRADE_RETCODE_NO_MONEY": InsufficientMargin,
    "TRADE_RETCODE_CONNECTION": BrokerDisconnected,
    "TRADE_RETCODE_TIMEOUT": BrokerDisconnected,
    "TRADE_RETCODE_TOO_MANY_REQUESTS": BrokerDisconnected,
    "TRADE_RETCODE_POSITION_CLOSED": UnknownPosition,
    "ERR_TRADE_POSITION_NOT_FOUND": UnknownPosition,
}


def trade_error(string_code: str, numeric_code: object, message: str, what: str) -> BrokerError:
    """The typed error for a failed trade (its MT5 retcode as MetaAPI spells it); unlisted codes
    (invalid stops or volume, trade disabled, rejected...) are OrderRejected."""
    cls = _BY_STRING_CODE.get(string_code, OrderRejected)
    return cls(f"{what}: MetaAPI {string_code} ({numeric_code}): {message}")


def map_sdk_error(exc: Exception, what: str) -> Exception:
    """The typed error for an SDK exception (matched by class name, so importing the SDK is not needed)."""
    name = type(exc).__name__
    if name == "TradeException":
        return trade_error(str(getattr(exc, "stringCode", "")), getattr(exc, "numericCode", "?"), str(exc), what)
    if name in ("UnauthorizedException", "ForbiddenException"):
        return ConfigError(f"MetaAPI refused METAAPI_TOKEN ({name}): {exc}")
    if name == "MethodAccessException":
        return ConfigError(
            f"METAAPI_TOKEN may not do this ({exc}); deploy the account in the MetaAPI dashboard "
            "or use an API access token"
        )
    if name == "NotFoundException":
        return UnknownPosition(f"{what}: MetaAPI says not found: {exc}")
    if name == "ValidationException":
        return OrderRejected(f"{what}: MetaAPI rejected the request: {exc}")
    if name in (
        "NotConnectedException",
        "NotSynchronizedException",
        "TimeoutException",
        "TooManyRequestsException",
        "InternalException",
        "ApiException",
        "ConflictException",
        "ConnectError",
        "ConnectTimeout",
    ):
        return BrokerDisconnected(f"{what}: MetaAPI unavailable ({name}): {exc}")
    return BrokerError(f"{what}: unexpected MetaAPI error {name}: {exc}")
