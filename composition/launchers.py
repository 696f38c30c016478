"""One launcher per environment (demo, backtest, dryrun, live): each builds its composition and runs it.

The runtime ones (dry-run, live) run composition/runtime/launch.py, whose build_service resolves the
one composition root, composition.containers.RuntimeContainer; these are the entry points the CLI calls.
"""

from __future__ import annotations

import logging

import attrs

from composition.config import Config
from composition.containers import RunOptions
from composition.runtime.launch import RunSummary, run_service


def run_dryrun(config: Config, options: RunOptions, log: logging.Logger) -> RunSummary:
    """Scan, log, notify and track outcomes. Orders go to the paper (or mock) broker only, whose equity the
    FTMO guard measures; a real account (shim, mt5, metaapi) is never sent an order in dry-run."""
    if options.mode != "dryrun":
        options = attrs.evolve(options, mode="dryrun")
    return run_service(config, options, log)


def run_live(config: Config, options: RunOptions, log: logging.Logger) -> RunSummary:
    """Trade through the configured broker; refuses (exit 2) unless LIVE_CONFIRM=yes, a real broker and a
    model that passed its gates (or the explicit, logged override)."""
    if options.mode != "live":
        options = attrs.evolve(options, mode="live")
    return run_service(config, options, log)
