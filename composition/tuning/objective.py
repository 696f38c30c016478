"""One trial: the parameters through the one settings builder, the product's walk-forward over the
validation folds, the score. Runs in a worker (process pool or Ray task) on the shared `TuneData`.

The period is cut into `folds + 1` consecutive spans (services.backtest.split_periods, the
walk-forward's own split); the first `folds` spans are the validation folds every trial is scored
on, the last span is the final test block, scored once for the best trial (`evaluate(..., test=True)`).
Each fold runs on its own fresh account with the walk-forward's period seed
(services.backtest.run_prepared, what run_walk_forward runs), and its challenge attempts run its days
through the same prepared kernel, so a trial's result depends on its parameters and the seed only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from composition.config import Config
from domain.backtest.engine import EngineConfig, EngineResult, PairData, Prepared, prepare
from domain.challenge import ChallengeSettings, KernelDays
from domain.execution_costs import CostModel
from services.backtest import Period, run_prepared
from services.tuning import FoldSpan, TrialScore, score_folds


@attrs.frozen(eq=False)
class TuneData:
    """What every trial needs, put once into each worker (the process pool's initializer) or once into
    Ray's object store: the config, the candles with their predictions, the folds, the costs."""

    config: Config
    model_names: tuple[str, ...]
    lookback_bars: int
    folds: tuple[Period, ...]  # validation folds
    test: Period  # the final test block
    costs: CostModel
    challenge_runs: int


def spans(periods: Sequence[Period]) -> list[FoldSpan]:
    out = []
    for p in periods:
        t0 = min(int(x.bars.ts[0]) for x in p.pairs)
        t1 = max(int(x.bars.ts[-1]) + x.bars.timeframe.ms for x in p.pairs)
        out.append(FoldSpan(t0, t1))
    return out


def trial_config(config: Config, params: Mapping[str, float]) -> Config:
    """The config with the trial's parameters that are config fields (tiers sorted low <= medium <= high)."""
    c = config.confidence
    tiers = sorted(float(params.get(k, getattr(c, k))) for k in ("tier_low", "tier_medium", "tier_high"))
    conf = attrs.evolve(
        c,
        tier_low=tiers[0],
        tier_medium=tiers[1],
        tier_high=tiers[2],
        hysteresis_scans=int(params.get("hysteresis_scans", c.hysteresis_scans)),
    )
    bt = attrs.evolve(config.backtest, horizon_bars=int(params.get("horizon_bars", config.backtest.horizon_bars)))
    risk = attrs.evolve(config.risk, risk_per_trade_pct=float(params.get("risk_pct", config.risk.risk_per_trade_pct)))
    return attrs.evolve(config, confidence=conf, backtest=bt, risk=risk)


def trial_engine_config(data: TuneData, params: Mapping[str, float]) -> EngineConfig:
    """The engine settings of a trial: kernel_settings (the one builder) of the trial's config; the stop
    and target multiples, which are engine settings and no config field, set on top."""
    from composition.settings import kernel_settings

    cfg = EngineConfig.from_settings(
        kernel_settings(trial_config(data.config, params)), data.model_names, data.lookback_bars
    )
    return attrs.evolve(
        cfg,
        sl_atr_mult=float(params.get("sl_atr_mult", cfg.sl_atr_mult)),
        reward_risk=float(params.get("reward_risk", cfg.reward_risk)),
    )


def run_folds(
    data: TuneData, params: Mapping[str, float], test: bool = False
) -> tuple[list[EngineResult], list[Prepared], EngineConfig]:
    """The trial's folds (or the test block): each prepared once, walked on its own account."""
    cfg = trial_engine_config(data, params)
    periods = [data.test] if test else list(data.folds)
    preps = [prepare(p.pairs, cfg, data.costs) for p in periods]
    results = [run_prepared(prep, data.config.seed, p.index) for prep, p in zip(preps, periods, strict=True)]
    return results, preps, cfg


def evaluate(data: TuneData, params: Mapping[str, float], test: bool = False) -> TrialScore:
    """The trial's score on the validation folds (or, once, on the final test block)."""
    results, preps, cfg = run_folds(data, params, test)
    fold_spans = spans([data.test] if test else list(data.folds))
    days = [KernelDays.build(prep, s.start_ms, s.end_ms - 1) for prep, s in zip(preps, fold_spans, strict=True)]
    challenge = ChallengeSettings(rules=cfg.rules)
    return score_folds(results, fold_spans, days, challenge, data.challenge_runs, data.config.seed)


def trial_job(data: TuneData, params: dict[str, Any]) -> dict[str, Any]:
    """The executors' unit of work (picklable, top-level): a trial's parameters -> its score as plain data."""
    s = evaluate(data, params)
    return {**s.as_dict(), "daily_pnl": s.daily_pnl.tolist()}


def build_tune_data(
    config: Config, pairs: Sequence[PairData], model_names: Sequence[str], lookback_bars: int, costs: CostModel
) -> TuneData:
    from services.backtest import split_periods

    t = config.tuning
    periods = split_periods(pairs, t.folds + 1)
    return TuneData(
        config, tuple(model_names), int(lookback_bars), tuple(periods[:-1]), periods[-1], costs, int(t.challenge_runs)
    )
