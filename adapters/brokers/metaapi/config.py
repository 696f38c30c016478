"""MetaAPI adapter settings."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from adapters.brokers.symbols import FTMO_SYMBOLS

METAAPI_DOMAIN = "agiliumtrade.agiliumtrade.ai"
CLIENT_ID_MAX = 26  # MetaAPI: len(comment) + len(clientId) <= 26; this adapter sends no comment


@attrs.frozen
class MetaApiConfig:
    token: str = attrs.field(default="", repr=False)
    account_id: str = ""
    domain: str = METAAPI_DOMAIN
    region: str | None = None
    request_timeout_s: float = 30.0
    deploy_timeout_s: float = 300.0
    deploy_poll_ms: int = 1000
    sync_timeout_s: float = 120.0
    symbol_map: Mapping[str, str] = attrs.field(factory=lambda: dict(FTMO_SYMBOLS))
