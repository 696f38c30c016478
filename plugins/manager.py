"""The plugin host: discovery through the `trading_ai.plugins` entry-point group, enable/disable by
config, and isolation (a plugin that raises is logged with its traceback, disabled for the run and
alerted once; the caller goes on).

    host = PluginHost.discover(disabled=config.plugins.disabled, log=log, alert=notifier.send_alert)
    host.enabled_names()                   # {"sentiment"} -> the ensemble weights by what is enabled
    sources = host.sentiment_sources(settings, store=store, replay=False)   # guarded sources
    predictors = host.predictors(settings, weights=weights)                # weighted + gated only
    extra = host.augment_training_set("lstm", X_train, y_train, seed)     # [(X, y), ...]

An entry point whose module cannot be imported because a package is missing (its extra is not
installed) is listed as not installed; any other error while loading is listed as failed with its
traceback logged. Neither stops anything.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import traceback
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import attrs
import pluggy

from domain.sentiment import SentimentReading
from plugins import hookspecs
from ports.predictor import Predictor
from ports.sentiment import SentimentSource, SentimentStore

AlertFn = Callable[[str, str], None]
ALERT_KIND = "plugin_failed"
HOOKS = ("trading_ai_sentiment_sources", "trading_ai_predictors", "trading_ai_augment_training_set")


@attrs.frozen
class PluginInfo:
    """One row of `trading-ai plugins list`."""

    name: str  # the entry point's name: the plugin's id in config (PLUGINS_DISABLED) and in the weights rule
    version: str
    target: str  # the entry point's module
    hooks: tuple[str, ...] = ()
    installed: bool = True
    enabled: bool = True
    status: str = "enabled"  # enabled | disabled | not installed | failed
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "target": self.target,
            "hooks": list(self.hooks),
            "installed": self.installed,
            "enabled": self.enabled,
            "status": self.status,
            "detail": self.detail,
        }


def plugin_manager(load_entry_points: bool = True, extra: tuple[object, ...] = ()) -> pluggy.PluginManager:
    """A bare pluggy manager with our hookspecs (entry points loaded unguarded): for tests and tools."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        pm.load_setuptools_entrypoints(hookspecs.ENTRY_POINT_GROUP)
    for plugin in extra:
        pm.register(plugin)
    return pm


def installed_plugins(pm: pluggy.PluginManager) -> list[str]:
    return sorted(name for name, plugin in pm.list_name_plugin() if plugin is not None)


def _version(ep: md.EntryPoint, module: Any = None) -> str:
    v = getattr(module, "__version__", None)
    if v:
        return str(v)
    dist = getattr(ep, "dist", None)
    return str(dist.version) if dist is not None else ""


def _hooks_of(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    return tuple(sorted(h.name for h in (pm.get_hookcallers(plugin) or [])))


class PluginHost:
    """Calls every enabled plugin's hooks one plugin at a time, each guarded."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        infos: Iterable[PluginInfo],
        *,
        log: logging.Logger | None = None,
        alert: AlertFn | None = None,
    ) -> None:
        self.pm = pm
        self._infos = {i.name: i for i in infos}
        self.log = log or logging.getLogger(__name__)
        self.alert = alert
        self.failed: dict[str, str] = {}  # plugin -> "hook: error" (disabled for the rest of the run)

    # ------------------------------------------------------------------ discovery
    @classmethod
    def discover(
        cls,
        disabled: Collection[str] = (),
        *,
        log: logging.Logger | None = None,
        alert: AlertFn | None = None,
        extra: Mapping[str, object] | None = None,
        entry_points: Iterable[md.EntryPoint] | None = None,
    ) -> PluginHost:
        """Load every `trading_ai.plugins` entry point (plus `extra`: name -> plugin object, for tests)."""
        log = log or logging.getLogger(__name__)
        off = {d.strip().lower() for d in disabled if d.strip()}
        pm = pluggy.PluginManager(hookspecs.PROJECT)
        pm.add_hookspecs(hookspecs)
        infos: list[PluginInfo] = []
        eps = list(md.entry_points(group=hookspecs.ENTRY_POINT_GROUP) if entry_points is None else entry_points)
        seen: set[str] = set()
        for ep in sorted(eps, key=lambda e: e.name):
            if ep.name in seen:  # one distribution found twice on sys.path (an egg-info beside the install)
                continue
            seen.add(ep.name)
            try:
                module = ep.load()
            except ImportError as exc:
                infos.append(
                    PluginInfo(
                        ep.name,
                        _version(ep),
                        ep.value,
                        installed=False,
                        enabled=False,
                        status="not installed",
                        detail=f"{exc} (pip install -e .[{ep.name}])",
                    )
                )
                log.info("plugin_not_installed", extra={"ctx": {"plugin": ep.name, "error": str(exc)}})
                continue
            except Exception as exc:
                infos.append(
                    PluginInfo(
                        ep.name,
                        _version(ep),
                        ep.value,
                        installed=False,
                        enabled=False,
                        status="failed",
                        detail=f"{type(exc).__name__}: {exc}",
                    )
                )
                log.error(
                    "plugin_load_failed",
                    extra={"ctx": {"plugin": ep.name, "error": repr(exc), "traceback": traceback.format_exc()}},
                )
                continue
            infos.append(cls._register(pm, ep.name, module, _version(ep, module), ep.value, off, log))
        for name, plugin in (extra or {}).items():
            infos.append(
                cls._register(
                    pm, name, plugin, str(getattr(plugin, "__version__", "")), type(plugin).__module__, off, log
                )
            )
        unknown = sorted(off - {i.name.lower() for i in infos})
        if unknown:  # a typo in PLUGINS_DISABLED would otherwise leave the plugin running unnoticed
            log.warning(
                "plugins_disabled_unknown", extra={"ctx": {"names": unknown, "known": sorted(i.name for i in infos)}}
            )
        return cls(pm, infos, log=log, alert=alert)

    @staticmethod
    def _register(
        pm: pluggy.PluginManager,
        name: str,
        plugin: object,
        version: str,
        target: str,
        off: set[str],
        log: logging.Logger,
    ) -> PluginInfo:
        try:
            pm.register(plugin, name=name)
        except Exception as exc:  # a wrong hook signature (pluggy.PluginValidationError) or a name clash
            log.error("plugin_invalid", extra={"ctx": {"plugin": name, "error": str(exc)}})
            return PluginInfo(name, version, target, enabled=False, status="failed", detail=str(exc))
        hooks = _hooks_of(pm, plugin)
        if name.lower() in off:
            pm.set_blocked(name)  # unregisters it: its hooks are never called
            return PluginInfo(
                name,
                version,
                target,
                hooks,
                enabled=False,
                status="disabled",
                detail="disabled in config (plugins.disabled)",
            )
        return PluginInfo(name, version, target, hooks)

    # ------------------------------------------------------------------ what is there
    def infos(self) -> list[PluginInfo]:
        out = []
        for i in sorted(self._infos.values(), key=lambda x: x.name):
            if i.name in self.failed and i.enabled:
                i = attrs.evolve(i, enabled=False, status="failed", detail=self.failed[i.name])
            out.append(i)
        return out

    def is_enabled(self, name: str) -> bool:
        i = self._infos.get(name)
        return i is not None and i.enabled and name not in self.failed

    def enabled_names(self) -> frozenset[str]:
        """The enabled plugins at boot (the ensemble-weights rule keys on these names)."""
        return frozenset(n for n, i in self._infos.items() if i.enabled and n not in self.failed)

    # ------------------------------------------------------------------ isolation
    def fail(self, plugin: str, where: str, exc: BaseException) -> None:
        """Disable `plugin` for the rest of the run: log the traceback, alert once."""
        if plugin in self.failed:
            return
        self.failed[plugin] = f"{where}: {type(exc).__name__}: {exc}"
        self.log.error(
            "plugin_failed",
            extra={
                "ctx": {
                    "plugin": plugin,
                    "where": where,
                    "error": repr(exc),
                    "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
                }
            },
        )
        if self.alert is not None:
            try:
                self.alert(
                    ALERT_KIND, f"plugin {plugin} disabled for this run: {where} raised {type(exc).__name__}: {exc}"
                )
            except Exception:
                self.log.exception("plugin_alert_failed")

    def _call(self, hook: str, kwargs: Mapping[str, Any]) -> list[tuple[str, Any]]:
        """(plugin name, result) for every enabled plugin implementing `hook`, each call guarded."""
        out: list[tuple[str, Any]] = []
        caller = getattr(self.pm.hook, hook)
        for impl in reversed(caller.get_hookimpls()):  # registration order
            name = impl.plugin_name
            if name in self.failed:
                continue
            try:
                result = impl.function(**{a: kwargs[a] for a in impl.argnames})
            except Exception as exc:
                self.fail(name, hook, exc)
                continue
            if result is not None:
                out.append((name, result))
        return out

    # ------------------------------------------------------------------ the hooks
    def sentiment_sources(
        self, settings: Mapping[str, Any], store: SentimentStore | None = None, replay: bool = False
    ) -> list[GuardedSentimentSource]:
        out: list[GuardedSentimentSource] = []
        for name, sources in self._call(
            "trading_ai_sentiment_sources", {"settings": settings, "store": store, "replay": replay}
        ):
            out.extend(GuardedSentimentSource(self, name, s) for s in sources)
        return out

    def predictors(
        self, settings: Mapping[str, Any], weights: Mapping[str, float] | None = None
    ) -> list[GuardedPredictor]:
        """Extra ensemble members that have a positive weight in `weights` and passed their gates."""
        out: list[GuardedPredictor] = []
        for name, preds in self._call("trading_ai_predictors", {"settings": settings}):
            for p in preds:
                pname = str(getattr(p, "name", ""))
                why = ""
                if weights is not None and not weights.get(pname, 0.0) > 0:
                    why = f"no ensemble weight for {pname!r} (ENSEMBLE_WEIGHTS)"
                elif getattr(p, "gates_passed", False) is not True:
                    why = f"{pname!r} did not pass its promotion gates"
                if why:
                    self.log.warning(
                        "plugin_predictor_left_out", extra={"ctx": {"plugin": name, "predictor": pname, "reason": why}}
                    )
                    continue
                out.append(GuardedPredictor(self, name, p))
        return out

    def augment_training_set(self, name: str, features: Any, labels: Any, seed: int) -> list[tuple[Any, Any]]:
        return [
            r
            for _, r in self._call(
                "trading_ai_augment_training_set", {"name": name, "features": features, "labels": labels, "seed": seed}
            )
        ]


class GuardedSentimentSource:
    """A plugin's source whose errors disable its plugin instead of reaching the cycle."""

    def __init__(self, host: PluginHost, plugin: str, inner: SentimentSource) -> None:
        self.host = host
        self.plugin = plugin
        self.inner = inner

    @property
    def name(self) -> str:
        return str(self.inner.name)

    def reading(self, pair: str, at_ms: int) -> SentimentReading | None:
        if self.plugin in self.host.failed:
            return None
        try:
            return self.inner.reading(pair, at_ms)
        except Exception as exc:
            self.host.fail(self.plugin, f"{self.name}.reading", exc)
            return None

    def score(self, pair: str, at_ms: int) -> float | None:
        r = self.reading(pair, at_ms)
        return None if r is None else r.score


class GuardedPredictor:
    """A plugin's predictor whose errors disable its plugin (its predictions are then absent)."""

    def __init__(self, host: PluginHost, plugin: str, inner: Predictor) -> None:
        self.host = host
        self.plugin = plugin
        self.inner = inner
        self.gates_passed = True

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def version(self) -> str:
        return str(self.inner.version)

    def predict(self, inputs: Mapping[str, Any]) -> list[Any]:
        if self.plugin in self.host.failed:
            return []
        try:
            return list(self.inner.predict(inputs))
        except Exception as exc:
            self.host.fail(self.plugin, f"{self.name}.predict", exc)
            return []
