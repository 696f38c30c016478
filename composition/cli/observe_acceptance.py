"""`trading-ai observe acceptance`: not built yet (its issue fills this module)."""

from __future__ import annotations

import argparse
from typing import Any

from domain.errors import UserError


def register(inner: Any) -> None:
    p = inner.add_parser("acceptance", help="(not available yet)")
    p.set_defaults(handler=_not_yet)


def _not_yet(args: argparse.Namespace, ctx: object) -> int:
    raise UserError("'observe acceptance' is not available in this version yet")
