"""Client order ids as they travel through MT5's 31-character order comment."""

from __future__ import annotations

from services.reconciliation import order_tag

__all__ = ["MT5_COMMENT_MAX", "order_tag"]

MT5_COMMENT_MAX = 31
