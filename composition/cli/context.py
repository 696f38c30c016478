"""What every command handler receives: the validated config and a logger bound to the mode."""

from __future__ import annotations

import argparse
import logging
import os
import sys

import attrs

from composition.cli.output import quiet_console_defaults
from composition.config import Config, load_config, unknown_prefixed_env
from composition.logging_setup import configure_logging
from composition.seeding import seed_everything


@attrs.frozen
class Context:
    config: Config
    log: logging.Logger


def build_context(args: argparse.Namespace) -> Context:
    config = load_config(config_path=getattr(args, "config", None), env_file=getattr(args, "env_file", ".env"))
    for name, close in unknown_prefixed_env(os.environ):  # a typo would be silently ignored otherwise
        hint = f"; did you mean {close}?" if close else "; `trading-ai config env-example` lists every variable"
        print(f"trading-ai: warning: {name} matches no setting{hint}", file=sys.stderr)
    config = quiet_console_defaults(config)  # warnings on the console, the full JSON log in a file
    mode = getattr(args, "log_mode", None) or config.mode
    log = configure_logging(config, mode=mode)
    seed_everything(config.seed)
    return Context(config=config, log=log)
