"""Start-up reconciliation (placeholder, completed below)."""

from __future__ import annotations

import hashlib

_TAG_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:")


def order_tag(client_order_id: str, max_len: int = 31) -> str:
    """The client order id as the broker stores it: unchanged when it fits `max_len` plain characters
    (MT5's order comment holds 31, MetaAPI's clientId 26), else a stable 'h' + hash prefix."""
    if len(client_order_id) <= max_len and set(client_order_id) <= _TAG_CHARS:
        return client_order_id
    return "h" + hashlib.sha256(client_order_id.encode()).hexdigest()[: max_len - 1]
