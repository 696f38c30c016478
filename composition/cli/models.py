"""`trading-ai models`: not built yet (its issue fills this module)."""

from __future__ import annotations

import argparse
from typing import Any

from domain.errors import UserError


def register(sub: Any) -> None:
    p = sub.add_parser("models", help="(models: not available yet)")
    p.set_defaults(handler=_not_yet)


def _not_yet(args: argparse.Namespace, ctx: object) -> int:
    raise UserError("'models' is not available in this version yet")
