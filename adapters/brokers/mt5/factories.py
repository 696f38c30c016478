"""Build an Mt5Broker, importing the Windows-only MetaTrader5 package lazily."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from adapters.brokers.mt5.config import Mt5Config
from adapters.brokers.mt5.execution import Mt5Broker
from domain.errors import ConfigError, UserError


class Mt5Unavailable(UserError):
    """The MetaTrader5 package cannot be used on this machine."""


def load_mt5_module() -> Any:
    try:
        return importlib.import_module("MetaTrader5")
    except ImportError:
        where = (
            "on Windows, `pip install MetaTrader5`"
            if sys.platform == "win32"
            else (f"it exists only for Windows and this is {sys.platform}")
        )
        raise Mt5Unavailable(
            "BROKER=mt5 needs the MetaTrader5 package (" + where + "). On Linux use BROKER=shim with the REST "
            "shim running beside the terminal on a Windows VM (SHIM_URL, SHIM_TOKEN), or BROKER=metaapi "
            "(METAAPI_TOKEN, METAAPI_ACCOUNT_ID); see adapters/brokers/README.md"
        ) from None


def mt5_config_from(config: Any) -> Mt5Config:
    b = config.broker
    if b.mt5_login and not str(b.mt5_login).isdigit():
        raise ConfigError(f"MT5_LOGIN={b.mt5_login!r} is invalid: expected the numeric account login")
    return Mt5Config(login=int(b.mt5_login or 0), password=b.mt5_password, server=b.mt5_server)


def make_mt5_broker(config: Any, *, mt5_module: Any = None, connect: bool = True) -> Mt5Broker:
    broker = Mt5Broker(
        mt5_module or load_mt5_module(), mt5_config_from(config), initial_balance=config.risk.initial_balance
    )
    if connect:
        broker.connect()
    return broker
