"""`python -m composition` runs the trading-ai CLI."""

from composition.cli import entrypoint

entrypoint()
