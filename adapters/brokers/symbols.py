"""FTMO symbol names and default specifications for the pairs this system trades.

Binance-style pairs ("BTC/USDT") are what the models and the risk book speak; FTMO's MT5 servers
quote crypto CFDs against USD ("BTCUSD"). Specifications here are defaults for the paper broker
and a fallback label; the MT5, shim and MetaAPI adapters read the live specification from the
terminal (contract size, lot step, digits can change, and differ between FTMO server groups).
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.trading import SymbolSpec
from ports.errors import UnknownSymbol

# pair -> FTMO MT5 symbol. Verify against your account's Market Watch: symbol suffixes differ
# between some server groups, and override with `symbol_map=` where they do.
FTMO_SYMBOLS: Mapping[str, str] = {
    "BTC/USDT": "BTCUSD",
    "ETH/USDT": "ETHUSD",
    "BNB/USDT": "BNBUSD",
    "SOL/USDT": "SOLUSD",
    "XRP/USDT": "XRPUSD",
    "LTC/USDT": "LTCUSD",
    "ADA/USDT": "ADAUSD",
    "DOGE/USDT": "DOGEUSD",
}

# Paper defaults: 1 lot = 1 coin, 0.01 lot minimum and step, 2 price digits.
DEFAULT_SPECS: Mapping[str, SymbolSpec] = {
    pair: SymbolSpec(pair=pair, broker_symbol=sym, contract_size=1.0, min_lot=0.01, lot_step=0.01, digits=2)
    for pair, sym in FTMO_SYMBOLS.items()
}


def broker_symbol(pair: str, symbol_map: Mapping[str, str] = FTMO_SYMBOLS) -> str:
    """The broker's name for a pair; UnknownSymbol lists the pairs served."""
    try:
        return symbol_map[pair]
    except KeyError:
        served = ", ".join(sorted(symbol_map))
        raise UnknownSymbol(f"no broker symbol for {pair!r}; served pairs: {served}") from None


def pair_of(symbol: str, symbol_map: Mapping[str, str] = FTMO_SYMBOLS) -> str | None:
    """The pair a broker symbol stands for, or None when it is not one of ours."""
    for pair, sym in symbol_map.items():
        if sym == symbol:
            return pair
    return None
