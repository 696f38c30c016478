"""In-memory RuntimeStateStore for contract tests and the demo."""

from __future__ import annotations

from ports.runtime_state import RuntimeState


class InMemoryRuntimeStateStore:
    def __init__(self) -> None:
        self._states: dict[str, RuntimeState] = {}

    def load(self, mode: str) -> RuntimeState | None:
        return self._states.get(mode)

    def save(self, state: RuntimeState) -> None:
        self._states[state.mode] = state
