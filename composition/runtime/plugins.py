"""The plugins in the runtime: discover them, hand the sentiment sources and extra predictors to the
scan cycle, and apply the ensemble-weights rule by what is enabled.

Called once per run by the launcher after the scan cycle is built. A plugin that raises at boot or
in a cycle is disabled for the run by its `PluginHost` (logged with its traceback, one
`plugin_failed` alert); the runtime never stops for a plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

import attrs

from composition.config import Config
from domain.confidence import EnsembleWeights
from domain.sentiment import SENTIMENT_MEMBER
from plugins.manager import AlertFn, PluginHost


def plugin_settings(config: Config) -> dict[str, Any]:
    """The configuration as the hooks receive it: a plain mapping of sections (secrets included)."""
    return attrs.asdict(config)


def discover(config: Config, log: logging.Logger | None = None, alert: AlertFn | None = None) -> PluginHost:
    return PluginHost.discover(config.plugins.disabled, log=log, alert=alert)


def weights_with_plugins(config: Config, members: Collection[str]) -> EnsembleWeights:
    """ENSEMBLE_WEIGHTS, or ("auto") the plan's weights by the plugin members that take part
    (domain.confidence.plan_weights): an installed plugin that serves nothing (no trained agent, no
    source) does not move the LSTM/Transformer weights."""
    return EnsembleWeights.parse(config.confidence.ensemble_weights, members)


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
    extra predictors, and the ensemble weights by the members that take part."""
    host = host or discover(config, log, alert)
    for info in host.infos():
        log.info("plugin", extra={"ctx": info.as_dict()})
    settings = plugin_settings(config)
    # an extra predictor needs a weight: judged on the weights of everything enabled
    extra = host.predictors(settings, weights=weights_with_plugins(config, host.enabled_names()).as_dict())
    if extra:
        scan.predictors = [*scan.predictors, *extra]
    store = None
    if any("trading_ai_sentiment_sources" in i.hooks and i.enabled for i in host.infos()):
        from adapters.storage.sentiment import SqlSentimentStore

        store = SqlSentimentStore(engine, clock.now_ms)
    sources = host.sentiment_sources(settings, store=store, replay=replay)
    scan.sentiment = sources
    scan.sentiment_bound = float(config.sentiment.block_bound) if sources else 0.0
    members = {p.name for p in extra} | ({SENTIMENT_MEMBER} if sources else set())
    weights = weights_with_plugins(config, members)
    names = [str(getattr(p, "name", "")) for p in scan.predictors]
    if any(weights.as_dict().get(n, 0.0) > 0 for n in names if n not in members):  # not the baseline alone
        scan.confidence = attrs.evolve(scan.confidence, weights=weights)
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
