"""`trading-ai tune`: an Optuna study over the product's parameters (docs/scale.md).

Each trial runs the product's walk-forward (services.backtest.run_walk_forward, the batch engine with
the kernel settings of the trial's config) over the validation folds only; objectives: expectancy
after costs and the FTMO challenge pass rate. The final test block is scored once, for the chosen
best trial, after the search. Trials run on a local process pool (default) or Ray
(`--executor ray [--address auto]`); the study lives in SQLite (default, under training.models_dir)
or in PostgreSQL (OPTUNA_STORAGE=postgresql+psycopg://...), and `--resume` continues it.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from composition.cli.context import Context
from composition.cli.output import add_json_flag, add_model_argument, emit_json
from domain.errors import UserError


def register(sub: Any) -> None:
    p = sub.add_parser("tune", help="hyperparameter search (Optuna) over walk-forward validation folds")
    p.add_argument(
        "--trials",
        type=int,
        default=8,
        metavar="N",
        help="complete trials the study should hold (a resumed study runs the rest; default 8)",
    )
    p.add_argument(
        "--executor",
        choices=("process", "ray"),
        default="process",
        help="a local process pool (default) or Ray ([scale] extra)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="W",
        help="parallel trials (default: 2, or the cluster's CPUs with --address)",
    )
    p.add_argument("--address", default=None, help="with --executor ray: 'auto' or host:port of a running cluster")
    p.add_argument("--resume", action="store_true", help="continue the existing study (after a kill, or for more)")
    p.add_argument("--study", default=None, metavar="NAME", help="study name (default: tuning.study)")
    p.add_argument("--timeframe", default=None, help="candle timeframe (default: data.timeframe)")
    p.add_argument("--cost-model", choices=("empirical", "fixed"), default=None)
    p.add_argument("--spread-bps", type=float, default=None)
    p.add_argument("--slippage-bps", type=float, default=None)
    add_model_argument(p)
    add_json_flag(p)
    p.set_defaults(handler=_tune, log_mode="backtest")


def _fmt_params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(params.items()))


def _tune(args: argparse.Namespace, ctx: Context) -> int:
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from adapters.execution_metrics.cost_model import load_cost_model
    from composition.model_choice import choose_model, engine_config, load_pairs, print_model
    from composition.settings import kernel_settings
    from composition.tuning import report as rep
    from composition.tuning.executors import make_executor
    from composition.tuning.objective import build_tune_data, trial_job
    from composition.tuning.study import TrialRow, open_study, optimize, recover_stale, redact, storage_url
    from domain.market import Timeframe
    from services.tuning import parse_space

    config = ctx.config
    t_cfg = config.tuning
    if not 1 <= args.trials <= 100_000:
        raise UserError(f"--trials {args.trials}: expected 1 to 100000")
    if args.address and args.executor != "ray":
        raise UserError("--address needs --executor ray")
    space = parse_space(t_cfg.space)
    workers = args.workers if args.workers is not None else (int(os.cpu_count() or 2) if args.address else 2)
    b = config.backtest
    spread = args.spread_bps if args.spread_bps is not None else (b.spread_bps if b.spread_bps >= 0 else None)
    slip = args.slippage_bps if args.slippage_bps is not None else (b.slippage_bps if b.slippage_bps >= 0 else None)
    costs = load_cost_model(config, args.cost_model or b.cost_model, spread, slip)
    model = choose_model(config, args.model)
    tf = Timeframe.parse(args.timeframe or config.data.timeframe)
    t0 = time.perf_counter()
    pairs = load_pairs(config, tf, model)
    print_model(model, pairs)
    cfg = engine_config(kernel_settings(config), model)
    data = build_tune_data(config, pairs, model.names, cfg.lookback_bars, costs)
    load_s = time.perf_counter() - t0
    url = storage_url(config)
    name = args.study or t_cfg.study
    study = open_study(url, name, args.resume, config.seed)
    if args.resume:
        stale = recover_stale(study, t_cfg.retries)
        if stale:
            print(f"resume: trials {stale} were left running by a killed run: marked failed and retried")
    first_ms, last_ms = data.folds[0].pairs[0].bars.ts[0], data.test.pairs[0].bars.ts[0]
    print(f"study {name!r} in {redact(url)}: {len(study.trials)} trials so far; target {args.trials} complete")
    print(
        f"{len(data.folds)} validation folds from {_day(first_ms)}; final test block from {_day(last_ms)} "
        "(scored once, for the best trial); objectives: expectancy after costs per trade, FTMO pass rate"
    )
    executor = make_executor(args.executor, trial_job, data, workers, args.address)
    print(f"executor: {executor.name} with {executor.workers} worker(s); start-up {executor.startup_s:.1f} s")

    rows: list[TrialRow] = []
    console = Console() if Console().is_terminal else Console(width=160)

    def table() -> Table:
        t = Table(title=f"trials of {name} ({executor.name}, {executor.workers} workers)")
        for col in ("#", "state", "expectancy", "pass rate", "trades", "params"):
            t.add_column(
                col,
                justify="right" if col in ("#", "expectancy", "pass rate", "trades") else "left",
                no_wrap=True,
                overflow="ellipsis",
                min_width=None if col == "params" else max(len(col), 8 if col == "state" else 5),
                max_width=max(20, console.width - 60) if col == "params" else None,
            )
        for r in rows[-25:]:
            t.add_row(
                str(r.number),
                r.state,
                "-" if r.values is None else f"{r.values[0]:+.2f}",
                "-" if r.values is None else f"{r.values[1]:.0%}",
                str(r.trades),
                _fmt_params(r.params) if not r.error else r.error,
            )
        return t

    t1 = time.perf_counter()
    try:
        with Live(table(), console=console, refresh_per_second=4, transient=False) as live:

            def on_trial(r: TrialRow) -> None:
                rows.append(r)
                live.update(table())
                ctx.log.info(
                    "tune_trial",
                    extra={
                        "ctx": {
                            "study": name,
                            "trial": r.number,
                            "state": r.state,
                            "values": r.values,
                            "trades": r.trades,
                            "params": r.params,
                            "error": r.error,
                        }
                    },
                )

            ran = optimize(
                study,
                space,
                executor,
                args.trials,
                seed=config.seed,
                batch=t_cfg.batch,
                retries=t_cfg.retries,
                on_trial=on_trial,
            )
    finally:
        executor.close()
    print()
    search_s = time.perf_counter() - t1
    print(
        f"{ran} trials run here in {search_s:.1f} s ({executor.name}, {executor.workers} workers; start-up "
        f"{executor.startup_s:.1f} s apart; candles + predictions {load_s:.1f} s)"
    )
    best = rep.best_trials(study)
    if not best:
        raise UserError(f"study {name!r} has no complete trial")
    bt = Table(title="best trials (Pareto front: expectancy after costs x FTMO pass rate), validation folds only")
    for col in ("#", "expectancy", "pass rate", "trades", "params"):
        bt.add_column(col)
    for t in best[:10]:
        bt.add_row(
            str(t.number),
            f"{t.values[0]:+.2f}",
            f"{t.values[1]:.0%}",
            str(t.user_attrs.get("trades")),
            _fmt_params(t.params),
        )
    console.print(bt)
    chosen = best[0]
    imp = rep.importances(study)
    print("parameter importances (optuna, PED-ANOVA):")
    if isinstance(imp, str):
        print(f"  {imp}")
    else:
        for obj, vals in imp.items():
            shown = ", ".join(f"{k} {v:.2f}" for k, v in vals.items()) or "n/a (every trial scored the same)"
            print(f"  {obj}: {shown}")
    check = rep.overfitting(study, chosen, config.risk.initial_balance)
    d = check.get("deflated_sharpe", {})
    print(f"overfitting check over {check.get('trials')} trials x {check.get('days')} validation days:")
    if d:
        print(
            f"  deflated Sharpe ratio of trial {chosen.number}: DSR {d['dsr']:.3f} "
            f"(daily Sharpe {d['daily_sharpe']:.4f} "
            f"vs {d['expected_max_sharpe_of_luck']:.4f} expected from the best of {check['trials']} by luck)"
        )
    p = check.get("pbo", {})
    print(
        f"  PBO (CSCV, {p.get('blocks')} blocks, {p.get('splits')} splits): {p['pbo']:.2f}"
        if "pbo" in p
        else f"  PBO: {p.get('note')}"
    )
    print(f"  verdict: {rep.verdict(check)}")
    test, scored_now = rep.final_test_block(study, data, chosen)
    if scored_now:
        print(f"final test block, scored now for trial {chosen.number} (once):")
    else:
        print(f"final test block of trial {chosen.number} (scored earlier, kept in the study, not re-run):")
    print(
        f"  expectancy {test['expectancy']:+.2f} per trade over {test['trades']} trades, P&L {test['pnl']:+,.2f}, "
        f"FTMO pass rate {test['pass_rate']:.0%} of {test['attempts']} attempts"
    )
    emit_json(
        args,
        {
            "study": name,
            "storage": redact(url),
            "executor": executor.name,
            "workers": executor.workers,
            "startup_s": executor.startup_s,
            "search_s": search_s,
            "trials_run": ran,
            "best_trials": [
                {"number": t.number, "values": list(t.values), "params": t.params, "trades": t.user_attrs.get("trades")}
                for t in best
            ],
            "importances": imp,
            "overfitting": check,
            "verdict": rep.verdict(check),
            "test_block": {"trial": chosen.number, **test},
        },
    )
    return 0


def _day(ms: Any) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(int(ms) / 1000, dt.UTC).strftime("%Y-%m-%d")
