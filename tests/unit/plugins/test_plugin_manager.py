"""Plugins implement documented hooks and are collected through pluggy."""

from __future__ import annotations

from typing import Any

import pluggy
import pytest

from plugins import hookimpl
from plugins.manager import installed_plugins, plugin_manager


class _Sentiment:
    name = "fixed-sentiment"

    def score(self, pair: str, at_ms: int) -> float | None:
        return 0.25 if pair == "BTC/USDT" else None


class _SentimentPlugin:
    @hookimpl
    def trading_ai_sentiment_sources(self, settings: dict[str, Any]) -> list[_Sentiment]:
        return [_Sentiment()] if settings.get("sentiment") else []


def test_hooks_from_registered_plugins_are_collected() -> None:
    pm = plugin_manager(load_entry_points=False, extra=(_SentimentPlugin(),))
    results = pm.hook.trading_ai_sentiment_sources(settings={"sentiment": True}, store=None, replay=False)
    sources = [s for batch in results for s in batch]
    assert [s.name for s in sources] == ["fixed-sentiment"]
    assert sources[0].score("BTC/USDT", 0) == 0.25
    assert pm.hook.trading_ai_sentiment_sources(settings={}, store=None, replay=False) == [[]]


def test_entry_point_loading_runs_and_a_wrong_hook_signature_is_rejected() -> None:
    pm = plugin_manager(load_entry_points=True)
    assert isinstance(installed_plugins(pm), list)

    class _Bad:
        @hookimpl
        def trading_ai_predictors(self, unknown_argument: int) -> list[object]:
            return []

    with pytest.raises(pluggy.PluginValidationError):
        pm.register(_Bad())
