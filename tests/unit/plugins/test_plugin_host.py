"""The plugin host: entry-point discovery (a real dist-info on sys.path), not-installed extras,
disabling by config, isolation of a plugin that raises, the predictor gate and the weights rule."""

from __future__ import annotations

import importlib.metadata as md
import logging
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from domain.confidence import SENTIMENT_ONLY, WITH_RL, WITHOUT_RL, EnsembleWeights, plan_weights
from domain.sentiment import SentimentReading
from domain.signals import Prediction
from plugins import hookimpl
from plugins.manager import ALERT_KIND, PluginHost


def _install(tmp_path: Path, dist: str, version: str, entry_points: dict[str, str], modules: dict[str, str]) -> None:
    """A distribution as pip leaves it: <name>-<version>.dist-info with METADATA and entry_points.txt."""
    info = tmp_path / f"{dist}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    lines = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[trading_ai.plugins]\n{lines}\n")
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))


OK_PLUGIN = """
    from plugins import hookimpl
    from adapters.mocks.sentiment import FixedSentiment
    __version__ = "1.2.3"

    @hookimpl
    def trading_ai_sentiment_sources(settings):
        return [FixedSentiment({"BTC/USDT": 0.4}, name="okfeed")]
"""
MISSING_EXTRA = """
    import a_package_that_is_not_installed_xyz  # the plugin's extra
"""
BROKEN = """
    raise RuntimeError("broken at import")
"""


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[md.EntryPoint]:
    _install(
        tmp_path,
        "tai_fake_plugins",
        "0.9.0",
        {"okplug": "tai_okplug", "needsextra": "tai_needsextra", "broken": "tai_broken"},
        {"tai_okplug": OK_PLUGIN, "tai_needsextra": MISSING_EXTRA, "tai_broken": BROKEN},
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    for m in ("tai_okplug", "tai_needsextra", "tai_broken"):
        sys.modules.pop(m, None)
    eps = [ep for ep in md.entry_points(group="trading_ai.plugins") if ep.name in {"okplug", "needsextra", "broken"}]
    assert len(eps) == 3  # found through importlib.metadata, as an installed package would be
    return eps


def test_discovery_lists_installed_not_installed_and_failed(
    installed: list[md.EntryPoint], caplog: pytest.LogCaptureFixture
) -> None:
    host = PluginHost.discover(entry_points=installed)
    rows = {i.name: i for i in host.infos()}
    assert rows["okplug"].enabled and rows["okplug"].version == "1.2.3"
    assert rows["okplug"].hooks == ("trading_ai_sentiment_sources",)
    assert rows["needsextra"].status == "not installed" and not rows["needsextra"].enabled
    assert "a_package_that_is_not_installed_xyz" in rows["needsextra"].detail
    assert rows["needsextra"].version == "0.9.0"  # the distribution's version
    assert rows["broken"].status == "failed" and "broken at import" in rows["broken"].detail
    assert host.enabled_names() == {"okplug"}
    [src] = host.sentiment_sources({}, None, False)
    assert src.score("BTC/USDT", 0) == 0.4


def test_disabled_in_config_is_listed_and_never_called(installed: list[md.EntryPoint]) -> None:
    host = PluginHost.discover(disabled=["OKPLUG"], entry_points=installed)
    row = next(i for i in host.infos() if i.name == "okplug")
    assert row.status == "disabled" and not row.enabled and row.hooks == ("trading_ai_sentiment_sources",)
    assert host.sentiment_sources({}, None, False) == []
    assert "okplug" not in host.enabled_names()


def test_an_unknown_name_in_disabled_is_warned(
    installed: list[md.EntryPoint], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="t.off"):
        PluginHost.discover(disabled=["okplgu"], entry_points=installed, log=logging.getLogger("t.off"))
    rec = next(r for r in caplog.records if r.getMessage() == "plugins_disabled_unknown")
    assert rec.ctx["names"] == ["okplgu"] and "okplug" in rec.ctx["known"]  # type: ignore[attr-defined]


def test_default_discovery_uses_the_entry_point_group() -> None:
    host = PluginHost.discover()  # whatever this environment has installed; never raises
    assert all(i.status in ("enabled", "disabled", "not installed", "failed") for i in host.infos())


class _Raising:
    @hookimpl
    def trading_ai_sentiment_sources(self, settings: Any) -> list[Any]:
        raise ValueError("feed exploded")


class _Good:
    @hookimpl
    def trading_ai_sentiment_sources(self, settings: Any, store: Any, replay: bool) -> list[Any]:
        from adapters.mocks.sentiment import FixedSentiment

        return [FixedSentiment({"BTC/USDT": -0.2}, name="good")]


class _FlakySource:
    name = "flaky"

    def __init__(self) -> None:
        self.calls = 0

    def reading(self, pair: str, at_ms: int) -> SentimentReading | None:
        self.calls += 1
        raise ConnectionError("socket closed")

    def score(self, pair: str, at_ms: int) -> float | None:
        raise AssertionError("not used")


class _FlakyPlugin:
    def __init__(self) -> None:
        self.source = _FlakySource()

    @hookimpl
    def trading_ai_sentiment_sources(self) -> list[Any]:
        return [self.source]


def test_a_plugin_raising_in_a_hook_is_isolated_logged_alerted_once(caplog: pytest.LogCaptureFixture) -> None:
    alerts: list[tuple[str, str]] = []
    host = PluginHost.discover(
        entry_points=[],
        extra={"raising": _Raising(), "good": _Good()},
        alert=lambda k, t: alerts.append((k, t)),
        log=logging.getLogger("t.plugins"),
    )
    with caplog.at_level(logging.ERROR, logger="t.plugins"):
        sources = host.sentiment_sources({}, None, False)
    assert [s.name for s in sources] == ["good"]  # the other plugin still answered
    assert alerts == [(ALERT_KIND, alerts[0][1])] and "raising" in alerts[0][1]
    rec = next(r for r in caplog.records if r.getMessage() == "plugin_failed")
    assert "ValueError: feed exploded" in rec.ctx["traceback"] and "Traceback" in rec.ctx["traceback"]  # type: ignore[attr-defined]
    assert host.enabled_names() == {"good"}
    assert next(i for i in host.infos() if i.name == "raising").status == "failed"
    host.sentiment_sources({}, None, False)  # disabled for the run: not called again, no second alert
    assert len(alerts) == 1


def test_a_source_raising_later_returns_none_and_disables_its_plugin() -> None:
    alerts: list[tuple[str, str]] = []
    plugin = _FlakyPlugin()
    host = PluginHost.discover(entry_points=[], extra={"flaky": plugin}, alert=lambda k, t: alerts.append((k, t)))
    [src] = host.sentiment_sources({}, None, False)
    assert src.reading("BTC/USDT", 1) is None
    assert src.score("BTC/USDT", 2) is None  # disabled: the inner source is not called again
    assert plugin.source.calls == 1 and len(alerts) == 1 and host.failed["flaky"].startswith("flaky.reading")


class _Pred:
    def __init__(self, name: str, gates: Any, boom: bool = False) -> None:
        self.name, self.version, self.gates_passed, self.boom = name, "v1", gates, boom

    def predict(self, inputs: Any) -> list[Prediction]:
        if self.boom:
            raise RuntimeError("nan weights")
        return [Prediction(p, 0.6, self.name, self.version) for p in inputs]


class _PredPlugin:
    @hookimpl
    def trading_ai_predictors(self, settings: Any) -> list[Any]:
        return [_Pred("rl", True), _Pred("rl_ungated", False), _Pred("unweighted", True), _Pred("rl_boom", True, True)]


def test_extra_predictors_need_a_weight_and_passed_gates_and_are_guarded() -> None:
    host = PluginHost.discover(entry_points=[], extra={"rl": _PredPlugin()})
    preds = host.predictors({}, weights={"lstm": 0.3, "rl": 0.25, "rl_ungated": 0.1, "rl_boom": 0.1})
    assert [p.name for p in preds] == ["rl", "rl_boom"]
    assert [x.model_name for x in preds[0].predict({"BTC/USDT": None})] == ["rl"]
    assert preds[1].predict({"BTC/USDT": None}) == [] and "rl" in host.failed
    assert preds[0].predict({"BTC/USDT": None}) == []  # the plugin is off for the rest of the run


class _Augment:
    @hookimpl
    def trading_ai_augment_training_set(self, name: str, features: Any, labels: Any, seed: int) -> Any:
        return (features[:1], labels[:1]) if name == "lstm" else None


def test_augment_collects_non_none_results() -> None:
    host = PluginHost.discover(entry_points=[], extra={"gan": _Augment()})
    assert host.augment_training_set("lstm", [1, 2], [0, 1], 7) == [([1], [0])]
    assert host.augment_training_set("transformer", [1, 2], [0, 1], 7) == []


def test_plan_weights_by_what_is_enabled() -> None:
    assert plan_weights(()) == WITHOUT_RL
    assert (
        plan_weights({"sentiment"}).as_dict()
        == SENTIMENT_ONLY.as_dict()
        == {"lstm": 0.30, "transformer": 0.35, "sentiment": 0.35}
    )
    assert plan_weights({"sentiment", "rl", "gan"}) == WITH_RL
    assert plan_weights({"rl"}).as_dict() == {"lstm": 0.30, "transformer": 0.35, "rl": 0.25}
    assert EnsembleWeights.parse("auto", {"sentiment"}) == SENTIMENT_ONLY
    assert EnsembleWeights.parse("", ()) == WITHOUT_RL
    # an explicit ENSEMBLE_WEIGHTS wins over the rule
    assert EnsembleWeights.parse("lstm=1", {"sentiment"}).as_dict() == {"lstm": 1.0}
