"""The in-memory broker under its test name (contract tests, service tests, the demo).

The class lives in adapters/brokers/in_memory.py: production code (BROKER=mock) imports it from there,
never from adapters.mocks.
"""

from __future__ import annotations

from adapters.brokers.in_memory import InMemoryBroker as MockBroker

__all__ = ["MockBroker"]
