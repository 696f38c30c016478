"""Command-line conventions every command shares: `--json`, `--model`, exit codes, the version.

Exit codes (README "Exit codes"): 0 success; 1 a verdict of FAIL (a promotion gate, a challenge
gate, an observation criterion, a drift trigger); 2 a user mistake (one line on stderr); 130 an
interrupt. Tracebacks are for bugs only.

`--json`: while a command with the flag runs, everything it would print for people goes to stderr
and stdout carries exactly one JSON document, written by `emit_json` (so
`trading-ai backtest --json | python -m json.tool` works).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
from collections.abc import Iterator
from importlib import metadata
from typing import Any, TextIO

EXIT_OK = 0
EXIT_FAIL = 1
EXIT_USER_ERROR = 2

_json_out: list[TextIO] = []


def version() -> str:
    try:
        return metadata.version("trading-ai")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def add_json_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout; the human output goes to stderr"
    )
    p.set_defaults(json_via_emit=True)


def add_model_argument(p: argparse.ArgumentParser) -> None:
    """`--model baseline|promoted|TAG` of every command that backtests a model
    (composition.model_choice.choose_model reads it)."""
    p.add_argument(
        "--model",
        default=None,
        metavar="baseline|promoted|TAG",
        help="the promoted bundle, a registry tag, or the momentum baseline "
        "(default: the promoted bundle when one is promoted, else the baseline)",
    )


def wants_json(args: argparse.Namespace) -> bool:
    """--json on a command whose flag came from `add_json_flag` (older commands print their own)."""
    return bool(getattr(args, "json", False)) and bool(getattr(args, "json_via_emit", False))


@contextlib.contextmanager
def json_mode(args: argparse.Namespace) -> Iterator[None]:
    """Around a handler: with --json, stdout is redirected to stderr and `emit_json` writes to the
    real stdout; without it nothing changes."""
    if not wants_json(args):
        yield
        return
    _json_out.append(sys.stdout)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        _json_out.pop()


def jsonable(x: Any) -> Any:
    """Plain JSON values: NaN/inf become null, tuples lists, unknown objects their str()."""
    if isinstance(x, bool) or x is None or isinstance(x, (int, str)):
        return x
    if isinstance(x, float):
        return None if math.isnan(x) or math.isinf(x) else x
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in x]
    if hasattr(x, "item") and callable(x.item):  # numpy scalars
        return jsonable(x.item())
    if hasattr(x, "__attrs_attrs__"):
        import attrs

        return jsonable(attrs.asdict(x, recurse=True))
    if hasattr(x, "value") and hasattr(x, "name"):  # enums
        return jsonable(x.value)
    return str(x)


def emit_json(args: argparse.Namespace, payload: Any) -> None:
    """Write `payload` as the command's JSON document when --json was given; otherwise nothing."""
    if not wants_json(args):
        return
    out = _json_out[-1] if _json_out else sys.stdout
    out.write(json.dumps(jsonable(payload), indent=2, sort_keys=True, allow_nan=False) + "\n")
    out.flush()


def quiet_console_defaults(config: Any) -> Any:
    """The CLI's logging defaults: the console shows warnings and errors only (the commands print their
    own summaries), and the full JSON log goes to a file, `<DATA_DIR>/logs/trading-ai.jsonl`, unless
    LOG_CONSOLE_LEVEL or LOG_FILE say otherwise (an empty LOG_FILE= keeps no file)."""
    import os

    import attrs

    lg = config.logging
    changes: dict[str, str] = {}
    if not lg.console_level and "LOG_CONSOLE_LEVEL" not in os.environ:
        changes["console_level"] = "WARNING"
    if not lg.file and "LOG_FILE" not in os.environ:
        changes["file"] = os.path.join(config.data.store_dir, "logs", "trading-ai.jsonl")
    return attrs.evolve(config, logging=attrs.evolve(lg, **changes)) if changes else config


def progress_bar(console: Any | None = None) -> Any:
    """The commands' progress bar for long work (description, bar, done/total, elapsed), on stderr
    unless a console is given, so stdout keeps only results (and `--json`'s one document)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console if console is not None else Console(stderr=True),
        transient=False,
    )
