"""`trading-ai rl train [--quick]` and `trading-ai rl evaluate`: the RL agent plugin on the real candles.

The agent trains on the same walk-forward fold as the supervised bundle it is compared with: the
bundle's recorded final fold (train / validation / test sample ranges per pair), the bundle's
feature columns and window length. This module loads the candles, the cost model and the bundle and
passes arrays to `plugins.rl`; the out-of-sample comparison runs the product's backtest
(`composition.model_choice.engine_config` / `load_pairs`, `services.backtest.run_batch` /
`build_summary`) twice on the fold's test bars with the same costs and seed: the supervised ensemble
alone, and with the RL member under the plan's weights. `train` ends with the same evaluation
`evaluate` runs (deterministic: the same figures), records the verdict in the RL registry and, on
FAIL, writes `<models_dir>/rl_failure_report.md`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from composition.cli.context import Context
from domain.errors import UserError
from domain.market import Timeframe


def register(sub: Any) -> None:
    p = sub.add_parser("rl", help="the RL agent plugin: train PPO on the real candles, evaluate its OOS gate")
    rs = p.add_subparsers(dest="rl_command", metavar="SUBCOMMAND")
    t = rs.add_parser("train", help="train PPO (>= 5 seeds) on the supervised bundle's fold, then evaluate")
    t.add_argument("--quick", action="store_true", help="tiny budgets (<= 2 minutes): the mechanics, not a result")
    t.add_argument(
        "--model",
        default=None,
        metavar="TAG",
        help="supervised bundle to train against and compare with (default: the promoted one, "
        "else the newest registered)",
    )
    t.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5)")
    t.add_argument("--timesteps", type=int, default=None, help="PPO timesteps per seed (default: profile)")
    _cost_args(t)
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(handler=_train, log_mode="train")
    e = rs.add_parser("evaluate", help="the OOS gate of the current (or --run) agent; prints the RESULT line")
    e.add_argument("--run", default=None, metavar="RUN_ID", help="RL run id (default: the current one)")
    _cost_args(e)
    e.set_defaults(handler=_evaluate, log_mode="train")
    p.set_defaults(handler=lambda _a, _c: (p.print_help(), 2)[1])


def _cost_args(p: Any) -> None:
    p.add_argument(
        "--cost-model",
        choices=("auto", "empirical", "fixed"),
        default="auto",
        help="execution costs for the environment and the backtest: measured (empirical), "
        "--spread-bps/--slippage-bps (fixed), or auto = empirical when measured, else the "
        "documented 10 bps round trip",
    )
    p.add_argument("--spread-bps", type=float, help="fixed cost model: full spread in bps")
    p.add_argument("--slippage-bps", type=float, help="fixed cost model: slippage per side in bps")


# ------------------------------------------------------------------------------------ inputs


@attrs.frozen(eq=False)
class Inputs:
    tag: str
    timeframe: Timeframe
    window: int
    names: tuple[str, ...]
    feature_params: Any
    pairs: tuple[Any, ...]  # plugins.rl.data.PairInput, one per pair
    costs: Any
    fee_bps: float
    latency_ms: float

    def markets(self) -> list[Any]:
        return [p.market for p in self.pairs]

    def segments(self, split: str) -> list[Any]:
        return [p.segment(i, split) for i, p in enumerate(self.pairs)]


def _bundle_tag(config: Any, which: str | None) -> str:
    from training.registry import FileModelRegistry

    reg = FileModelRegistry(config.training.models_dir)
    if which:
        reg.entry(which)  # raises UnknownTag (a user error) with the known tags
        return which
    current = reg.current()
    if current:
        return current
    tags = reg.tags()
    if not tags:
        raise UserError(
            f"no supervised bundle in {config.training.models_dir}: the RL agent is compared with one; "
            "run `trading-ai train [--quick]` first"
        )
    return tags[-1]


def _fold_ranges(entry: dict[str, Any], pair: str) -> Any:
    from plugins.rl.data import FoldRanges

    d = (entry.get("data_range") or {}).get(pair) or {}
    try:
        r = {s: tuple(int(x) for x in d[s]["range"]) for s in ("train", "val", "test")}
    except (KeyError, TypeError):
        raise UserError(f"bundle {entry.get('tag')} records no train/val/test ranges for {pair}") from None
    return FoldRanges(r["train"], r["val"], r["test"])  # type: ignore[arg-type]


def load_inputs(ctx: Context, args: argparse.Namespace, tag: str | None) -> Inputs:
    from rich.console import Console

    from composition.candles import cleaned_store
    from composition.training_inputs import cost_model_for
    from domain.features import warmup_bars
    from plugins.rl.data import build_pair
    from training.predictor import load_predictors
    from training.registry import FileModelRegistry

    config = ctx.config
    tag = _bundle_tag(config, tag)
    entry = FileModelRegistry(config.training.models_dir).entry(tag)
    preds = load_predictors(config.training.models_dir, tag=tag)
    first = preds[0]
    pairs = sorted({p for pr in preds for p in pr.pairs})
    costs = cost_model_for(config, args.cost_model, args.spread_bps, args.slippage_bps, Console(stderr=True))
    src = cleaned_store(config, [(p, first.timeframe) for p in pairs])  # the one data path
    window = max(p.seq_len for p in preds)
    b = config.backtest
    folds = {p: _fold_ranges(entry, p) for p in pairs}
    # the features' warm-up and one window before the first training bar is all the history needed
    lead = (warmup_bars(first.feature_params, first.timeframe) + window + 1) * first.timeframe.ms
    built = tuple(
        build_pair(
            src.candles(p, first.timeframe).between(folds[p].train[0] - lead, None),
            first.feature_params,
            first.feature_names,
            folds[p],
            window,
            costs,
            b.fee_bps,
            b.latency_ms,
        )
        for p in pairs
    )
    return Inputs(
        tag,
        first.timeframe,
        window,
        tuple(first.feature_names),
        first.feature_params,
        built,
        costs,
        b.fee_bps,
        b.latency_ms,
    )


# ------------------------------------------------------------------------------------ train


def _settings(args: argparse.Namespace, window: int) -> Any:
    from plugins.rl.agent import default_settings, quick_settings

    s = (quick_settings if args.quick else default_settings)(window)
    if args.seeds is not None:
        if args.seeds < 1:
            raise UserError(f"--seeds must be >= 1, got {args.seeds}")
        s = attrs.evolve(s, seeds=tuple(range(args.seeds)))
    if args.timesteps is not None:
        if args.timesteps < 64:
            raise UserError(f"--timesteps must be >= 64, got {args.timesteps}")
        s = attrs.evolve(
            s,
            ppo=attrs.evolve(
                s.ppo, total_timesteps=args.timesteps, eval_every=max(s.ppo.n_envs * s.ppo.n_steps, args.timesteps // 4)
            ),
        )
    return s


def _train(args: argparse.Namespace, ctx: Context) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from plugins.rl.agent import train_seed
    from plugins.rl.store import AgentStore

    t0 = time.perf_counter()
    console = Console(stderr=True)
    inp = load_inputs(ctx, args, args.model)
    settings = _settings(args, inp.window)
    seeds = settings.seed_values(ctx.config.seed)
    markets, train, val = inp.markets(), inp.segments("train"), inp.segments("val")
    console.print(
        f"[dim]rl train ({settings.profile}): bundle {inp.tag}, {len(markets)} pairs, "
        f"{sum(s.decisions for s in train)} training bars, {len(seeds)} seeds x "
        f"{settings.ppo.total_timesteps} timesteps, costs: {inp.costs.description}[/dim]"
    )
    trained = []
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=console, disable=args.no_progress
    )
    with progress:
        task = progress.add_task("PPO", total=len(seeds) * settings.ppo.total_timesteps)
        for k, seed in enumerate(seeds):
            progress.update(task, description=f"PPO seed {k + 1}/{len(seeds)}")
            trained.append(
                train_seed(markets, train, val, settings, seed, on_progress=lambda n: progress.advance(task, n))
            )
    store = AgentStore(ctx.config.training.models_dir)
    seed_rows: list[dict[str, Any]] = []
    for ts in trained:
        meta = {"seed": ts.seed, "obs_dim": ts.obs_dim, "net_arch": list(ts.net_arch)}
        f = store.write_policy(ts.policy_state, meta)
        seed_rows.append(
            {
                **f,
                "seed": ts.seed,
                "best_index": ts.best_index,
                "seconds": ts.seconds,
                "curve": [attrs.asdict(p) for p in ts.curve],
                "best_val_return_pct": ts.curve[ts.best_index].val_return_pct,
            }
        )
    # the served seed: the best validation return (never the test split)
    selected = int(np.argmax([float(r["best_val_return_pct"]) for r in seed_rows]))
    run_id = store.add_run(
        {
            "profile": settings.profile,
            "settings": _jsonable(attrs.asdict(settings)),
            "bundle_tag": inp.tag,
            "timeframe": inp.timeframe.value,
            "window": inp.window,
            "feature_names": list(inp.names),
            "feature_params": inp.feature_params.to_dict(),
            "pairs": [p.market.pair for p in inp.pairs],
            "folds": {p.market.pair: attrs.asdict(p.fold) for p in inp.pairs},
            "standardisers": {p.market.pair: p.standardiser.to_dict() for p in inp.pairs},
            "cost_model": {
                "kind": inp.costs.kind,
                "description": inp.costs.description,
                "fee_bps": inp.fee_bps,
                "latency_ms": inp.latency_ms,
            },
            "seeds": seed_rows,
            "selected_seed_index": selected,
            "train_seconds": time.perf_counter() - t0,
        }
    )
    print(
        f"rl: trained {run_id} ({settings.profile}, {len(seeds)} seeds, {time.perf_counter() - t0:.0f} s); "
        f"selected seed {seed_rows[selected]['seed']} by validation return"
    )
    return _run_evaluation(ctx, inp, run_id, t0)


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ------------------------------------------------------------------------------------ evaluate


def _evaluate(args: argparse.Namespace, ctx: Context) -> int:
    from plugins.rl.store import AgentStore

    t0 = time.perf_counter()
    entry = AgentStore(ctx.config.training.models_dir).run(args.run)
    inp = load_inputs(ctx, args, entry["bundle_tag"])
    return _run_evaluation(ctx, inp, entry["run_id"], t0)


def _test_pairdata(ctx: Context, inp: Inputs) -> tuple[Any, list[Any], Any, Any]:
    """The supervised bundle's PairData (bars + per-model probabilities through the backtest's own
    loader) cut to each pair's test range, and the engine configs the backtest would use: the
    configured weights, and the same settings with the plan's weights including the RL member."""
    from composition.model_choice import choose_model, engine_config, load_pairs
    from domain.backtest.engine import PairData
    from domain.confidence import WITH_RL

    config = ctx.config
    first = min(p.fold.test[0] for p in inp.pairs)
    last = max(p.fold.test[1] for p in inp.pairs)
    day = 86_400_000
    start = dt.datetime.fromtimestamp(first // day * day / 1000, dt.UTC).date().isoformat()
    end = dt.datetime.fromtimestamp((last // day + 1) * day / 1000, dt.UTC).date().isoformat()
    cfg_view = attrs.evolve(
        config,
        data=attrs.evolve(config.data, symbols=tuple(p.market.pair for p in inp.pairs)),
        backtest=attrs.evolve(config.backtest, start=start, end=end),
    )
    model = choose_model(cfg_view, inp.tag)
    from composition.settings import kernel_settings

    settings = kernel_settings(cfg_view)
    cfg = engine_config(settings, model)
    # the same kernel settings with the plan's weights for the ensemble with the RL member
    cfg_rl = engine_config(attrs.evolve(settings, ensemble_weights=WITH_RL), model)
    out = []
    for pd, pi in zip(load_pairs(cfg_view, inp.timeframe, model), inp.pairs, strict=True):
        a, b = pi.fold.test
        lo = int(np.searchsorted(pd.bars.ts, a, side="left"))
        hi = int(np.searchsorted(pd.bars.ts, b, side="right"))
        out.append(
            PairData(pd.pair, pd.bars.between(a, b + 1), {k: v[lo:hi] for k, v in pd.probs.items()}, pd.spec, None)
        )
    return model, out, cfg, cfg_rl


def _run_evaluation(ctx: Context, inp: Inputs, run_id: str, t0: float) -> int:
    from domain.backtest.engine import PairData
    from domain.confidence import WITH_RL
    from plugins.rl.agent import prob_up, rollout
    from plugins.rl.gate import SeedFigures, evaluate
    from plugins.rl.predictor import load_predictor
    from plugins.rl.report import failure_report, print_evaluation
    from plugins.rl.store import AgentStore
    from services.backtest import build_summary, run_batch

    config = ctx.config
    store = AgentStore(config.training.models_dir)
    entry = store.run(run_id)
    settings_env = _env_config(entry)
    model, test_pairs, cfg, cfg_rl = _test_pairdata(ctx, inp)
    seed = int(config.seed)
    sup_sum, _ = build_summary(
        test_pairs, cfg, run_batch(test_pairs, cfg, inp.costs, seed), inp.costs, model=model.description
    )
    figures = []
    per_seed_extra = []
    th = _gate_thresholds(entry)
    for k, row in enumerate(entry["seeds"]):
        pred = load_predictor(config.training.models_dir, run_id, k)
        pol = pred.policy
        with_rl = []
        for pd, pi in zip(test_pairs, inp.pairs, strict=True):
            m = pi.market
            idx = np.searchsorted(m.ts, pd.bars.ts)
            ok = (idx < len(m)) & (m.ts[np.minimum(idx, len(m) - 1)] == pd.bars.ts)
            lo = max(0, int(idx[ok].min()) - inp.window + 1) if ok.any() else 0
            p_rows = prob_up(pol, m.x[lo:], inp.window)  # the test bars' windows only
            rl = np.where(ok, p_rows[np.clip(idx - lo, 0, max(0, len(m) - lo - 1))], np.nan)
            with_rl.append(PairData(pd.pair, pd.bars, {**pd.probs, "rl": rl}, pd.spec, None))
        rl_sum, _ = build_summary(
            with_rl,
            cfg_rl,
            run_batch(with_rl, cfg_rl, inp.costs, seed),
            inp.costs,
            model=f"{model.description} + rl {run_id} seed {row['seed']}",
        )
        alone = rollout(pol, inp.markets(), inp.segments("test"), settings_env)
        figures.append(
            SeedFigures(
                int(row["seed"]),
                float(sup_sum["return_pct"]),
                _nan(sup_sum["hit_rate"]),
                int(sup_sum["trades"]),
                float(rl_sum["return_pct"]),
                _nan(rl_sum["hit_rate"]),
                int(rl_sum["trades"]),
                tuple(float(p["val_return_pct"]) for p in row["curve"]),
                alone.chosen_share(),
                alone.mean_return_pct,
            )
        )
        per_seed_extra.append(
            {
                "executed_share": alone.executed_share(),
                "time_in_position": alone.time_in_position,
                "rl_alone_by_pair": dict(zip(entry["pairs"], alone.return_pct, strict=True)),
                "drawdown_stop": alone.terminated,
                "train_curve": row["curve"],
                "rl_blocks": rl_sum["blocks_by_reason"],
                "equity_test": alone.equity,
            }
        )
    verdict = evaluate(figures, th)
    info = {
        "bundle": model.description,
        "supervised_weights": cfg.confidence.weights.as_dict(),
        "with_rl_weights": WITH_RL.renormalised([*next(iter(test_pairs)).probs, "rl"]),
        "test_bars": sum(len(p.bars) for p in test_pairs),
        "costs": inp.costs.description,
        "fee_bps_per_side": inp.fee_bps,
        "supervised_blocks": sup_sum["blocks_by_reason"],
        "seconds": time.perf_counter() - t0,
    }
    print_evaluation(entry, verdict, per_seed_extra, info)
    record = {
        **_jsonable(attrs.asdict(verdict)),
        "per_seed_extra": _jsonable(per_seed_extra),
        "info": _jsonable(info),
        "evaluated_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    report_path = None
    if not verdict.passed:
        path = Path(config.training.models_dir) / "rl_failure_report.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(failure_report(entry, verdict, per_seed_extra, info), encoding="utf-8")
        report_path = str(path)
        print(
            f"rl: FAIL: agent {run_id} stays registered but disabled; the runtime keeps the fallback weights; "
            f"failure report {path}"
        )
    else:
        print(
            f"rl: PASS: agent {run_id} enabled; the plan's weights {WITH_RL.as_dict()} are available "
            "(set ENSEMBLE_WEIGHTS to apply them; nothing is forced)"
        )
    store.record_verdict(run_id, record, report_path)
    (Path(config.training.models_dir) / "rl" / f"{run_id}_evaluation.json").write_text(
        json.dumps(record, indent=2, sort_keys=True, allow_nan=True) + "\n", encoding="utf-8"
    )
    print(verdict.result_line())
    return 0


def _nan(x: Any) -> float:
    return float("nan") if x is None else float(x)


def _env_config(entry: dict[str, Any]) -> Any:
    from plugins.rl.env import EnvConfig

    return EnvConfig(**entry["settings"]["env"])


def _gate_thresholds(entry: dict[str, Any]) -> Any:
    from plugins.rl.agent import GateThresholds

    return GateThresholds(**entry["settings"]["gate"])
