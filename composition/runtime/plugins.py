"""The plugins in the runtime: discover them, hand the sentiment sources and extra predictors to the
scan cycle, and apply the ensemble-weights rule by what is enabled.

Called once per run by the launcher after the scan cycle is built. A plugin that raises at boot or
in a cycle is disabled for the run by its `PluginHost` (logged with its traceback, one
`plugin_failed` alert); the runtime never stops for a plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from typing import Any

import attrs

from composition.config import Config
from domain.confidence import ConfidenceParams, EnsembleWeights
from domain.sentiment import SENTIMENT_MEMBER
from plugins.manager import AlertFn, PluginHost


def plugin_settings(config: Config) -> dict[str, Any]:
    """The configuration as the hooks receive it: a plain mapping of sections (secrets included)."""
    return attrs.asdict(config)


def discover(config: Config, log: logging.Logger | None = None, alert: AlertFn | None = None) -> PluginHost:
    return PluginHost.discover(config.plugins.disabled, log=log, alert=alert)


def weights_with_plugins(config: Config, members: Collection[str]) -> EnsembleWeights:
    """The kernel settings' ensemble weights (composition.settings, the one reader of ENSEMBLE_WEIGHTS)
    for the plugin members that take part: "auto" is the plan's weights by them
    (domain.confidence.plan_weights), so an installed plugin that serves nothing (no trained agent, no
    source) does not move the LSTM/Transformer weights."""
    from composition.settings import kernel_settings

    return kernel_settings(config, plugins=members).ensemble_weights


def confidence_with_members(
    config: Config, params: ConfidenceParams, names: Sequence[str], members: Collection[str]
) -> ConfidenceParams:
    """`params` with the kernel settings' weights for the models `names` and the plugin members that take
    part (KernelSettings.weights_for's one fallback: the baseline alone keeps its own equal weights)."""
    from composition.settings import kernel_settings

    base = [n for n in names if n not in members]
    return attrs.evolve(params, weights=kernel_settings(config, plugins=members).weights_for(base))


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
    names = [str(getattr(p, "name", "")) for p in scan.predictors]
    scan.confidence = confidence_with_members(config, scan.confidence, names, members)
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


def with_plugins(
    config: Config,
    pairs: Sequence[Any],
    cfg: Any,
    model_names: Sequence[str],
    log: logging.Logger | None = None,
    host: PluginHost | None = None,
) -> tuple[list[Any], Any]:
    """The backtest's plugin members, as a replay of the runtime would have them: the extra predictors
    (each with a `predict_batch(pair, bars) -> per-bar up-probabilities`, NaN = none) and the stored
    sentiment (`with_sentiment`), with the weights by the members taking part."""
    import numpy as np

    from domain.backtest.engine import PairData

    host = host or discover(config, log)
    settings = plugin_settings(config)
    extra = host.predictors(settings, weights=weights_with_plugins(config, host.enabled_names()).as_dict())
    members: set[str] = set()
    out = list(pairs)
    for pred in extra:
        batch = getattr(pred.inner, "predict_batch", None)
        if batch is None:
            if log is not None:
                log.warning(
                    "backtest_predictor_left_out",
                    extra={
                        "ctx": {
                            "plugin": pred.plugin,
                            "predictor": pred.name,
                            "reason": "no predict_batch(pair, bars): the backtest scores no per-bar loop",
                        }
                    },
                )
            continue
        try:
            cols = [np.asarray(batch(p.pair, p.bars), dtype=np.float64) for p in out]
        except Exception as exc:
            host.fail(pred.plugin, f"{pred.name}.predict_batch", exc)
            continue
        out = [
            PairData(p.pair, p.bars, {**p.probs, pred.name: col}, p.spec, p.fine)
            for p, col in zip(out, cols, strict=True)
        ]
        members.add(pred.name)
    out, cfg = with_sentiment(config, out, cfg, model_names, log, host)
    if members:
        if any(SENTIMENT_MEMBER in p.probs for p in out):
            members.add(SENTIMENT_MEMBER)
        cfg = attrs.evolve(cfg, confidence=confidence_with_members(config, cfg.confidence, model_names, members))
    return out, cfg


def with_sentiment(
    config: Config,
    pairs: Sequence[Any],
    cfg: Any,
    model_names: Sequence[str],
    log: logging.Logger | None = None,
    host: PluginHost | None = None,
) -> tuple[list[Any], Any]:
    """The backtest's sentiment, as a replay of the runtime sees it: when the sentiment plugin serves a
    source (replay mode: the stored posts only), every bar gets the rolling score of the posts stored
    in the hour before its close as the `sentiment` member (NaN = none; domain.sentiment.rolling_scores,
    the arithmetic the source's `reading` uses), the engine gets the filter bound and the weights by the
    members taking part. Without the plugin the pairs and the engine settings come back unchanged."""
    import numpy as np

    from adapters.storage.engine import create_engine_for, sqlite_path
    from adapters.storage.sentiment import SqlSentimentStore
    from domain.backtest.engine import PairData
    from domain.sentiment import as_prob_up_batch, rolling_scores

    host = host or discover(config, log)
    if not any("trading_ai_sentiment_sources" in i.hooks and i.enabled for i in host.infos()):
        return list(pairs), cfg
    db_file = sqlite_path(config.database.url)
    # no database file: no stored sentiment (an empty in-memory one reads the same), and none created
    engine = create_engine_for("sqlite://" if db_file is not None and not db_file.exists() else config.database.url)
    try:
        store = SqlSentimentStore(engine, lambda: 0)
        sources = host.sentiment_sources(plugin_settings(config), store=store, replay=True)
        if not sources:
            return list(pairs), cfg
        window_ms = int(config.sentiment.window_minutes) * 60_000
        out = []
        for p in pairs:
            close = p.bars.ts + p.bars.timeframe.ms  # the instant the live cycle scores the bar
            posts = store.posts(p.pair, int(close[0]) - window_ms, int(close[-1]))
            mean, n = rolling_scores(
                np.array([x.created_at_ms for x in posts], dtype=np.int64),
                np.array([x.score for x in posts], dtype=np.float64),
                close,
                window_ms,
            )
            probs = {**p.probs, SENTIMENT_MEMBER: as_prob_up_batch(mean)}
            out.append(PairData(p.pair, p.bars, probs, p.spec, p.fine))
            if log is not None:
                log.info(
                    "backtest_sentiment",
                    extra={
                        "ctx": {
                            "pair": p.pair,
                            "posts": len(posts),
                            "bars_with_score": int((n > 0).sum()),
                            "bars": len(close),
                        }
                    },
                )
    finally:
        engine.dispose()
    params = confidence_with_members(config, cfg.confidence, model_names, {SENTIMENT_MEMBER})
    return out, attrs.evolve(cfg, confidence=params, sentiment_bound=float(config.sentiment.block_bound))
