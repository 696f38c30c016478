"""What a training run is handed: the candles, the training settings on the kernel settings, the cost
model of the expectancy gate, the enabled plugins' members and the GAN augmentation.

`trading-ai train`, `gan`, `models drift`, `research` and `rl` take their inputs from here, so the
gates of every one of them grade with the same settings, costs and pipeline as `trading-ai train`.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from composition.config import Config, GanConfig
from domain.errors import UserError
from domain.market import Timeframe

# the tiny GAN of `gan report/ablation --quick`
QUICK_GAN = {"steps": 40, "window": 32, "hidden": 16, "batch": 32}


def train_settings(config: Config, quick: bool, folds: int | None = None, epochs: int | None = None) -> Any:
    """The training profile (quick or default) on the kernel settings, with `--folds`/`--epochs`."""
    from composition.settings import kernel_settings
    from training.pipeline import default_settings, quick_settings

    make = quick_settings if quick else default_settings
    # the gates grade with the runtime's and the backtest's tiers, weights, commission and latency
    s = make(seed=config.seed, device=config.training.device).on_kernel(kernel_settings(config))
    s = attrs.evolve(s, margin_rate=1.0 / config.broker.paper_leverage)  # the trade gate sizes as the backtest
    if folds is not None:
        if folds < 1:
            raise UserError(f"--folds must be >= 1, got {folds}")
        s = attrs.evolve(s, n_folds=folds)
    if epochs is not None:
        if epochs < 1:
            raise UserError(f"--epochs must be >= 1, got {epochs}")
        s = attrs.evolve(
            s,
            lstm_loop=attrs.evolve(s.lstm_loop, epochs=epochs),
            tf_loop=attrs.evolve(s.tf_loop, epochs=epochs),
        )
    return s


def load_candles(config: Config, symbols: str | None, timeframe: str | None) -> tuple[dict[str, Any], Timeframe]:
    """`--symbols` (comma-separated coins or pairs; default data.symbols) at `--timeframe` (default
    data.timeframe), each pair's candles from the cleaned store."""
    from composition.candles import cleaned_store
    from training.pipeline import pairs_of

    tf = Timeframe.parse(timeframe or config.data.timeframe)
    pairs = pairs_of(symbols.split(",")) if symbols else list(config.data.symbols)
    if not pairs:
        raise UserError("--symbols is empty; give e.g. BTC,ETH,BNB")
    src = cleaned_store(config, [(p, tf) for p in pairs])  # the one data path: the cleaned store
    return {p: src.candles(p, tf) for p in pairs}, tf


def plugin_members(config: Config, log: logging.Logger) -> Any:
    """The gates run the backtest's pipeline: with the enabled plugins' members and weights, exactly
    as `trading-ai backtest` adds them (composition.runtime.plugins.with_plugins)."""
    from composition.runtime.plugins import with_plugins

    def members(pairs: list[Any], cfg: Any, names: tuple[str, ...]) -> tuple[list[Any], Any]:
        return with_plugins(config, pairs, cfg, names, log)

    return members


def cost_model_for(
    config: Config, kind: str, spread_bps: float | None, slippage_bps: float | None, console: Any
) -> Any:
    """`--cost-model auto|empirical|fixed`: auto is fixed when a bps value is given, else the measured
    execution metrics, else the documented default (said so on `console`)."""
    from adapters.execution_metrics.cost_model import CostModelRefused, load_cost_model
    from training.pipeline import DEFAULT_FIXED_COSTS

    if kind != "auto":
        return load_cost_model(config, kind, spread_bps, slippage_bps)
    if spread_bps is not None or slippage_bps is not None:
        return load_cost_model(config, "fixed", spread_bps, slippage_bps)
    try:
        return load_cost_model(config, "empirical")
    except CostModelRefused as exc:
        console.print(
            f"[yellow]no measured execution costs ({exc}); the expectancy gate uses "
            f"{DEFAULT_FIXED_COSTS.description}[/yellow]"
        )
        return DEFAULT_FIXED_COSTS


def training_augment(config: Config, settings: Any, log: Any = None) -> tuple[Any, Any]:
    """`trading-ai train`'s augmentation: with `[gan] enabled` the settings get the configured synthetic
    share and the plugin host's `augment_training_set` (the config handed to the plugin); else unchanged."""
    if not config.gan.enabled:
        return settings, None
    from composition.runtime.plugins import discover

    host = discover(config, log=log)
    return attrs.evolve(settings, synthetic_share=config.gan.share), augment_with(
        host, gan_plugin_settings(config, False)
    )


def gan_plugin_settings(config: Config, quick: bool) -> dict[str, Any]:
    """The settings handed to the plugins, with `quick` the tiny GAN except where the config sets a
    value of its own."""
    from composition.runtime.plugins import plugin_settings

    everything = plugin_settings(config)
    gan = dict(everything["gan"])
    defaults = attrs.asdict(GanConfig())
    if quick:  # the tiny GAN, except where the config sets a value of its own
        gan.update({k: v for k, v in QUICK_GAN.items() if gan.get(k, defaults.get(k)) == defaults.get(k)})
    return {**everything, "gan": gan}


def augment_with(host: Any, settings: dict[str, Any]) -> Any:
    """The training pipeline's `augment` callable: the host's `augment_training_set` with `settings`."""

    def augment(name: str, request: Any, labels: Any, seed: int) -> Any:
        return host.augment_training_set(name, attrs.evolve(request, settings=settings), labels, seed)

    return augment
