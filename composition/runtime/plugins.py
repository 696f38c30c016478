"""The plugins in the runtime: discover them, hand the sentiment sources and extra predictors to the
scan cycle, and apply the ensemble-weights rule by what is enabled.

Called once per run by the launcher after the scan cycle is built. A plugin that raises at boot or
in a cycle is disabled for the run by its `PluginHost` (logged with its traceback, one
`plugin_failed` alert); the runtime never stops for a plugin.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from composition.config import Config
from domain.confidence import EnsembleWeights
from plugins.manager import AlertFn, PluginHost


def plugin_settings(config: Config) -> dict[str, Any]:
    """The configuration as the hooks receive it: a plain mapping of sections (secrets included)."""
    return attrs.asdict(config)


def discover(config: Config, log: logging.Logger | None = None, alert: AlertFn | None = None) -> PluginHost:
    return PluginHost.discover(config.plugins.disabled, log=log, alert=alert)


def weights_with_plugins(config: Config, host: PluginHost) -> EnsembleWeights:
    """ENSEMBLE_WEIGHTS, or ("auto") the plan's weights by the enabled plugins (domain.confidence.plan_weights)."""
    return EnsembleWeights.parse(config.confidence.ensemble_weights, host.enabled_names())


def wire_plugins(
    config: Config,
    scan: Any,
    *,
    engine: Any,
    clock: Any,
    log: logging.Logger,
    replay: bool,
    alert: AlertFn | None = None,
    host: PluginHost | None = None,
) -> PluginHost:
    """Give `scan` (services.scan_cycle.ScanCycle) the plugins' sentiment sources, filter bound and
    extra predictors, and the weights by what is enabled."""
    host = host or discover(config, log, alert)
    for info in host.infos():
        log.info("plugin", extra={"ctx": info.as_dict()})
    settings = plugin_settings(config)
    weights = weights_with_plugins(config, host)
    names = [str(getattr(p, "name", "")) for p in scan.predictors]
    if any(weights.as_dict().get(n, 0.0) > 0 for n in names):  # not the baseline alone (its own equal weights)
        scan.confidence = attrs.evolve(scan.confidence, weights=weights)
    extra = host.predictors(settings, weights=scan.confidence.weights.as_dict())
    if extra:
        scan.predictors = [*scan.predictors, *extra]
    store = None
    if any("trading_ai_sentiment_sources" in i.hooks and i.enabled for i in host.infos()):
        from adapters.storage.sentiment import SqlSentimentStore

        store = SqlSentimentStore(engine, clock.now_ms)
    sources = host.sentiment_sources(settings, store=store, replay=replay)
    scan.sentiment = sources
    scan.sentiment_bound = float(config.sentiment.block_bound) if sources else 0.0
    log.info(
        "plugins_wired",
        extra={
            "ctx": {
                "enabled": sorted(host.enabled_names()),
                "sentiment_sources": [s.name for s in sources],
                "extra_predictors": [p.name for p in extra],
                "weights": scan.confidence.weights.as_dict(),
                "sentiment_bound": scan.sentiment_bound,
            }
        },
    )
    return host
