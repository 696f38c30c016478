"""One place that turns `BROKER=paper|mt5|shim|metaapi|mock` into a Broker.

Nothing else in the system names an adapter: swapping providers is this one config value (plus the
credentials of the chosen one). Adapters are imported lazily, so a machine without the MetaTrader5
package or without network access to MetaAPI can still run the paper broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.errors import ConfigError
from ports.broker import Broker
from ports.clock import Clock

KINDS = ("paper", "mt5", "shim", "metaapi", "mock")


def make_broker(
    config: Any,
    *,
    price_source: Callable[[str], tuple[float, int]] | None = None,
    cost_model: Any = None,
    clock: Clock | None = None,
    mt5_module: Any = None,
    metaapi_connection_factory: Callable[[Any], Any] | None = None,
    paper_state_path: str = "",
    micro_lot: bool = False,
    risk_book: Any = None,
) -> Broker:
    """The broker `config.broker.kind` names, connected and ready.

    paper needs `price_source` (pair -> (last close, at_ms)) and `cost_model` (the empirical
    ExecutionModel); mt5 imports MetaTrader5 unless `mt5_module` is given; shim reads SHIM_URL and
    SHIM_TOKEN; metaapi reads METAAPI_TOKEN and METAAPI_ACCOUNT_ID. `micro_lot=True` wraps the broker
    so every order is 0.01 lots and every fill is journalled (see adapters/brokers/micro_lot.py).
    """
    kind = config.broker.kind
    broker: Broker
    if kind == "paper":
        if price_source is None or cost_model is None:
            raise ConfigError(
                "BROKER=paper needs a price source and the execution cost model "
                "(run `trading-ai exec-metrics update` first)"
            )
        from adapters.brokers.paper.factories import make_paper_broker

        broker = make_paper_broker(
            config, price_source=price_source, cost_model=cost_model, clock=clock, state_path=paper_state_path
        )
    elif kind == "mt5":
        from adapters.brokers.mt5.factories import make_mt5_broker

        broker = make_mt5_broker(config, mt5_module=mt5_module)
    elif kind == "shim":
        from adapters.brokers.rest_shim.factories import make_shim_broker

        broker = make_shim_broker(config)
    elif kind == "metaapi":
        from adapters.brokers.metaapi.factories import make_metaapi_broker

        broker = make_metaapi_broker(config, connection_factory=metaapi_connection_factory)
    elif kind == "mock":
        if config.mode == "live":
            raise ConfigError("BROKER=mock is for demos and tests; live mode needs paper, mt5, shim or metaapi")
        from adapters.brokers.in_memory import InMemoryBroker
        from adapters.brokers.paper.factories import WallClock
        from adapters.brokers.symbols import DEFAULT_SPECS

        broker = InMemoryBroker(DEFAULT_SPECS.values(), clock or WallClock(), config.risk.initial_balance)
    else:
        raise ConfigError(f"BROKER={kind!r} is invalid: expected one of {', '.join(KINDS)}")
    if micro_lot:
        from adapters.brokers.micro_lot import MicroLotBroker
        from adapters.brokers.paper.factories import WallClock

        broker = MicroLotBroker(broker, clock or WallClock(), risk_book=risk_book)
    return broker


def make_measuring_broker(
    config: Any, *, mt5_module: Any = None, metaapi_connection_factory: Callable[[Any], Any] | None = None
) -> tuple[Broker, Clock]:
    """A read-only connection for `exec-metrics update --source broker` (kind -> (broker, clock)).

    MT5 logs in with the investor (read-only) credentials MT5_READONLY_LOGIN / MT5_READONLY_PASSWORD, never
    the trading ones; the shim and MetaAPI use their configured connection (give the shim/MetaAPI a
    read-only account there). Paper is refused by the caller: its fills are drawn from the model itself.
    """
    from adapters.brokers.paper.factories import WallClock

    b = config.broker
    if b.kind == "mt5":
        if not b.readonly_login or not b.readonly_password:
            raise ConfigError(
                "exec-metrics with BROKER=mt5 needs MT5_READONLY_LOGIN and MT5_READONLY_PASSWORD "
                "(the account's investor password)"
            )
        import attrs

        ro = attrs.evolve(config, broker=attrs.evolve(b, mt5_login=b.readonly_login, mt5_password=b.readonly_password))
        return make_broker(ro, mt5_module=mt5_module), WallClock()
    if b.kind in ("shim", "metaapi"):
        return make_broker(config, metaapi_connection_factory=metaapi_connection_factory), WallClock()
    raise ConfigError(f"BROKER={b.kind!r} has no measuring connection; use --source ohlc")
