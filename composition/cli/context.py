"""What every command handler receives: the validated config and a logger bound to the mode."""

from __future__ import annotations

import argparse
import logging

import attrs

from composition.config import Config, load_config
from composition.logging_setup import configure_logging
from composition.seeding import seed_everything


@attrs.frozen
class Context:
    config: Config
    log: logging.Logger


def build_context(args: argparse.Namespace) -> Context:
    config = load_config(config_path=getattr(args, "config", None), env_file=getattr(args, "env_file", ".env"))
    mode = getattr(args, "log_mode", None) or config.mode
    log = configure_logging(config, mode=mode)
    seed_everything(config.seed)
    return Context(config=config, log=log)
