"""`trading-ai sentiment ablation [--periods N] [--min-days D] [--min-coverage F] [--json]`.

Walk-forward over the span of the stored sentiment history (the `sentiment_posts` table the live
plugin fills), once with the sentiment input (the `sentiment` ensemble member and the filter, as a
replay sees them) and once without, on the same candles, model, costs and periods; reports both and
the coverage (bars with a score). With too little history it says how much exists per pair and how
much the comparison needs, and gives no figures.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import Any

import attrs

from composition.cli.context import Context
from domain.errors import UserError

DAY_MS = 86_400_000


def register(sub: Any) -> None:
    p = sub.add_parser("sentiment", help="the sentiment plugin's stored history: ablation")
    inner = p.add_subparsers(dest="sentiment_command", metavar="ACTION")
    a = inner.add_parser("ablation", help="walk-forward with and without the sentiment input over the stored history")
    a.add_argument("--periods", type=int, default=4, help="walk-forward periods (default 4)")
    a.add_argument("--min-days", type=float, default=30.0, help="history each pair needs, in days (default 30)")
    a.add_argument(
        "--min-coverage",
        type=float,
        default=0.5,
        help="share of the span's bars with a score each pair needs (default 0.5)",
    )
    a.add_argument("--model", help="model: 'promoted' (default), 'baseline' or a registry tag")
    a.add_argument("--cost-model", choices=("empirical", "fixed"), help="as backtest (default: config)")
    a.add_argument("--spread-bps", type=float, help="with --cost-model fixed")
    a.add_argument("--slippage-bps", type=float, help="with --cost-model fixed")
    a.add_argument("--json", action="store_true", help="print JSON instead of a table")
    a.set_defaults(handler=handle_ablation)
    p.set_defaults(handler=lambda args, ctx: (p.print_help(), 2)[1])


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def history(config: Any, timeframe_ms: int) -> dict[str, dict[str, Any]]:
    """Per configured pair: the stored posts' span, their number and the share of that span's bars
    whose closing instant has at least one post in the window before it."""
    import numpy as np
    import sqlalchemy as sa

    from adapters.storage.engine import create_engine_for
    from adapters.storage.sentiment import SqlSentimentStore
    from domain.sentiment import rolling_scores

    engine = create_engine_for(config.database.url)
    window_ms = int(config.sentiment.window_minutes) * 60_000
    out: dict[str, dict[str, Any]] = {}
    try:
        store = SqlSentimentStore(engine, lambda: 0)
        for pair in config.data.symbols:
            h = store.history(pair)
            if h is None:
                out[pair] = {"posts": 0, "days": 0.0, "coverage": 0.0, "first_ms": None, "last_ms": None}
                continue
            first, last, n = h
            posts = store.posts(pair, first, last + 1)
            closes = np.arange(
                first - first % timeframe_ms + timeframe_ms, last + timeframe_ms + 1, timeframe_ms, dtype=np.int64
            )
            _mean, cov = rolling_scores(
                np.array([p.created_at_ms for p in posts], dtype=np.int64),
                np.array([p.score for p in posts]),
                closes,
                window_ms,
            )
            out[pair] = {
                "posts": n,
                "days": (last - first) / DAY_MS,
                "first_ms": first,
                "last_ms": last,
                "coverage": float((cov > 0).mean()) if len(closes) else 0.0,
            }
    except sa.exc.SQLAlchemyError as exc:
        raise UserError(f"cannot read the sentiment history in {config.database.url}: {exc}") from None
    finally:
        engine.dispose()
    return out


def handle_ablation(args: argparse.Namespace, ctx: Context) -> int:
    from composition.runtime.plugins import discover
    from domain.market import Timeframe

    config = ctx.config
    info = next((i for i in discover(config, ctx.log).infos() if i.name == "sentiment"), None)
    if info is None or not info.enabled:
        state = "not installed (pip install -e .[sentiment])" if info is None or not info.installed else info.status
        raise UserError(f"the sentiment plugin is {state}: an ablation compares runs with and without it")
    tf = Timeframe.parse(config.data.timeframe)
    hist = history(config, tf.ms)
    short = {p: h for p, h in hist.items() if h["days"] < args.min_days or h["coverage"] < args.min_coverage}
    needs = {
        "min_days": args.min_days,
        "min_coverage": args.min_coverage,
        "timeframe": tf.value,
        "window_minutes": config.sentiment.window_minutes,
    }
    if short:
        if args.json:
            print(json.dumps({"verdict": "insufficient_history", "history": hist, "needs": needs}, indent=2))
            return 0
        print("too little sentiment history for an ablation (no figures):")
        for pair, h in hist.items():
            span = f"{_day(h['first_ms'])} .. {_day(h['last_ms'])}, " if h["posts"] else ""
            print(
                f"  {pair}: {span}{h['days']:.1f} days, {h['posts']} posts, {100 * h['coverage']:.0f}% of "
                f"{tf.value} bars scored"
            )
        print(
            f"needs per pair: at least {args.min_days:g} days of posts with at least {100 * args.min_coverage:.0f}% "
            f"of the {tf.value} bars scored (a post in the {config.sentiment.window_minutes} minutes before the "
            "bar's close); the live sentiment plugin stores them as it runs"
        )
        return 0
    result = run_ablation(config, ctx, hist, args)
    if args.json:
        print(json.dumps({"verdict": "compared", "history": hist, "needs": needs, **result}, indent=2))
        return 0
    print(f"sentiment ablation over {result['span']}, {args.periods} walk-forward periods, model {result['model']}")
    cols = ("trades", "hit_rate", "compounded_return_pct", "worst_max_drawdown_pct", "profitable_periods")
    print(f"{'':<18}" + "".join(f"{c:>24}" for c in cols))
    for name in ("without", "with"):
        t = result[name]
        print(f"{name + ' sentiment':<18}" + "".join(f"{_fmt(t[c]):>24}" for c in cols))
    print(
        f"sentiment blocks: {result['with']['blocks_by_reason'].get('sentiment', 0)}; coverage: "
        + ", ".join(f"{p} {100 * h['coverage']:.0f}%" for p, h in hist.items())
    )
    return 0


def _fmt(v: Any) -> str:
    return "-" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v)


def run_ablation(
    config: Any, ctx: Context, hist: dict[str, dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    """Both walk-forwards over the pairs' common stored span."""
    from adapters.execution_metrics.cost_model import load_cost_model
    from composition.model_choice import choose_model, engine_config, load_pairs
    from composition.runtime.plugins import with_sentiment
    from composition.settings import kernel_settings
    from domain.market import Timeframe
    from services.backtest import walk_forward

    first = max(h["first_ms"] for h in hist.values())
    last = min(h["last_ms"] for h in hist.values())
    start = datetime.fromtimestamp(first / 1000, UTC).strftime("%Y-%m-%d")
    end = datetime.fromtimestamp((last + DAY_MS) / 1000, UTC).strftime("%Y-%m-%d")
    config = attrs.evolve(config, backtest=attrs.evolve(config.backtest, start=start, end=end))
    tf = Timeframe.parse(config.data.timeframe)
    periods = int(args.periods)
    model = choose_model(config, args.model)
    costs = load_cost_model(config, args.cost_model or config.backtest.cost_model, args.spread_bps, args.slippage_bps)
    cfg = engine_config(kernel_settings(config), model)
    pairs = load_pairs(config, tf, model)
    pairs_s, cfg_s = with_sentiment(config, pairs, cfg, model.names, ctx.log)
    out: dict[str, Any] = {"span": f"{start} .. {end}", "model": model.description}
    for name, ps, c in (("without", pairs, cfg), ("with", pairs_s, cfg_s)):
        out[name] = walk_forward(ps, periods, c, costs, config.seed, model=model.description).total
    return out
