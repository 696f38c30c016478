"""`trading-ai features build | list | check-leakage`.

- `build --timeframe 5m`: the feature set for every pair into `<data.store_dir>/features` as a
  versioned, date-stamped parquet; the version is a hash of (feature code, parameters, input
  candles), so an unchanged build is reported as cached and a changed parameter (`--param
  atr_window=21`) makes a new version.
- `list`: the manifest's versions.
- `check-leakage`: perturbs every bar after random cut points and checks that no feature at or
  before the cut changes, for every feature, symbol and timeframe; exit 1 if any leaks.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from composition.cli.context import Context
from composition.cli.output import progress_bar
from domain.errors import UserError
from domain.features import FeatureParams
from domain.market import Timeframe, validate_symbol

# pyarrow (the stores) and rich load inside the handlers, so building the parser stays cheap.
if TYPE_CHECKING:
    from rich.console import Console

    from domain.leakage import LeakageReport
    from ports.market_data import MarketData


def register(sub: Any) -> None:
    p = sub.add_parser("features", help="build, list and leakage-check the feature set")
    p.add_argument("--store-dir", metavar="DIR", help="data root (default: config data.store_dir)")
    p.add_argument(
        "--source",
        choices=("store",),
        default="store",
        help="candles from the cleaned store (the only source; pairs it lacks are imported first)",
    )
    s = p.add_subparsers(dest="features_cmd", metavar="ACTION", required=True)

    b = s.add_parser("build", help="compute features into a versioned parquet (reused when unchanged)")
    b.add_argument("--timeframe", default="5m", help="base timeframe (default 5m)")
    b.add_argument("--symbols", help="comma-separated pairs (default: config data.symbols that have this timeframe)")
    b.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a feature parameter, e.g. atr_window=21 or return_lookbacks=1,5,30 (repeatable)",
    )
    b.set_defaults(handler=_build)

    ls = s.add_parser("list", help="versions in the feature store manifest")
    ls.set_defaults(handler=_list)

    c = s.add_parser("check-leakage", help="prove no feature at bar T changes when bars after T change")
    c.add_argument("--timeframes", default="1m,5m,1h", help="comma-separated base timeframes (default 1m,5m,1h)")
    c.add_argument("--symbols", help="comma-separated pairs (default: config data.symbols)")
    c.add_argument("--bars", type=int, default=20_000, help="last N bars per series to check (default 20000)")
    c.add_argument("--cuts", type=int, default=5, help="random cut points per series (default 5)")
    c.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="as for build")
    c.set_defaults(handler=_check)


def _out() -> Console:
    """Tables on stdout; wide enough to stay readable when piped (rich assumes 80 columns then)."""
    from rich.console import Console

    console = Console()
    return console if console.is_terminal else Console(width=160)


# ---------------------------------------------------------------------------------- helpers


def parse_params(items: list[str]) -> FeatureParams:
    fields = {f.name: f for f in attrs.fields(FeatureParams)}
    kwargs: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in fields:
            raise UserError(f"unknown feature parameter {item!r}; valid: {', '.join(fields)} (as NAME=VALUE)")
        default = fields[name].default
        try:
            if isinstance(default, tuple):
                parts = [v.strip() for v in value.split(",") if v.strip()]
                kwargs[name] = tuple(parts) if name == "higher_timeframes" else tuple(int(v) for v in parts)
            elif isinstance(default, float):
                kwargs[name] = float(value)
            else:
                kwargs[name] = int(value)
        except ValueError as exc:
            raise UserError(f"invalid value for feature parameter {name}: {value!r} ({exc})") from exc
    try:
        return FeatureParams(**kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError(f"invalid feature parameters: {exc}") from exc


def market_for(args: argparse.Namespace, ctx: Context, need: list[tuple[str, Timeframe]]) -> MarketData:
    """The cleaned store (composition.candles: the one data path), importing what it lacks."""
    from composition.candles import cleaned_store

    return cleaned_store(ctx.config, need, args.store_dir, required=False)


def _pairs_with(market: MarketData, symbols: list[str], tf: Timeframe, explicit: bool) -> list[str]:
    if explicit:
        return symbols
    out = []
    for s in symbols:
        if s not in market.symbols():
            continue
        try:
            market.candles(s, tf, 0, 1)
        except UserError:
            continue
        out.append(s)
    if not out:
        raise UserError(f"none of {', '.join(symbols)} has {tf} candles; run `trading-ai data import` or fetch them")
    return out


def feature_root(args: argparse.Namespace, ctx: Context) -> Path:
    return Path(args.store_dir or ctx.config.data.store_dir) / "features"


# ---------------------------------------------------------------------------------- build


def _build(args: argparse.Namespace, ctx: Context) -> int:
    from adapters.market_data.feature_store import ParquetFeatureStore
    from services.feature_build import build_features

    tf = Timeframe.parse(args.timeframe)
    params = parse_params(args.param)
    explicit = bool(args.symbols)
    symbols = [validate_symbol(s) for s in (args.symbols.split(",") if args.symbols else ctx.config.data.symbols)]
    market = market_for(args, ctx, [(s, tf) for s in symbols])
    pairs = _pairs_with(market, symbols, tf, explicit)
    store = ParquetFeatureStore(feature_root(args, ctx))
    with progress_bar() as progress:
        task = progress.add_task(f"features {tf}", total=len(pairs))
        result = build_features(market, store, pairs, tf, params, on_pair=lambda _s: progress.advance(task))
        progress.update(task, completed=len(pairs))
    path = store.file_of(tf.value, result.version)
    if result.cached:
        print(f"cached: version {result.version} already built for {', '.join(pairs)} {tf} -> {path}")
    else:
        store.describe(
            tf.value,
            result.version,
            {
                "params": params.to_dict(),
                "params_key": params.key(),
                "source": type(market).__name__,
                "pairs": list(pairs),
            },
        )
        print(
            f"built: version {result.version}, {len(result.names)} features x {result.rows:,} rows "
            f"({', '.join(pairs)} {tf}) -> {path}"
        )
    return 0


def _list(args: argparse.Namespace, ctx: Context) -> int:
    from rich.table import Table

    from adapters.market_data.feature_store import ParquetFeatureStore

    store = ParquetFeatureStore(feature_root(args, ctx))
    versions = store.versions()
    if not versions:
        print(f"no feature versions in {store.root}; run `trading-ai features build`")
        return 0
    table = Table(title=f"feature versions in {store.root}")
    for col in ("version", "timeframe", "created", "pairs", "rows", "features", "file"):
        table.add_column(col)
    for v in versions:
        table.add_row(
            v["version"],
            v["timeframe"],
            v["created"],
            ",".join(v.get("pairs", [])),
            f"{v.get('rows', 0):,}",
            str(len(v.get("names", []))),
            v["file"],
        )
    _out().print(table)
    return 0


# ---------------------------------------------------------------------------------- leakage


def _check(args: argparse.Namespace, ctx: Context) -> int:
    import numpy as np

    from services.leakage_check import check_features_leakage

    tfs = [Timeframe.parse(t) for t in args.timeframes.split(",") if t.strip()]
    symbols = [validate_symbol(s) for s in (args.symbols.split(",") if args.symbols else ctx.config.data.symbols)]
    params = parse_params(args.param)
    market = market_for(args, ctx, [(s, tf) for s in symbols for tf in tfs])
    rng = np.random.default_rng(ctx.config.seed)
    with progress_bar() as progress:
        task = progress.add_task("leakage check", total=len(symbols) * len(tfs))
        reports = check_features_leakage(
            market,
            symbols,
            tfs,
            rng,
            params,
            bars=args.bars,
            cuts=args.cuts,
            on_done=lambda _r: progress.advance(task),
        )
        progress.update(task, completed=len(symbols) * len(tfs))
    if not reports:
        raise UserError(f"no candles for {', '.join(symbols)} at {args.timeframes}")
    _print_leakage(reports)
    leaky = [(r.symbol, r.timeframe, r.leaky) for r in reports if not r.passed]
    if leaky:
        print("LEAK: " + "; ".join(f"{s} {tf}: {', '.join(names)}" for s, tf, names in leaky))
        return 1
    n_features = len(reports[0].verdicts)
    print(
        f"passed: {n_features} features x {len(reports)} series, {args.cuts} cuts each; "
        "no value at or before a cut changed"
    )
    return 0


def _print_leakage(reports: list[LeakageReport]) -> None:
    from rich.table import Table

    table = Table(title="leakage check (bars after each cut perturbed)")
    for col in ("symbol", "tf", "features", "leaky", "reacting after cut", "result"):
        table.add_column(col)
    for r in reports:
        reacting = sum(v.reacts_after_cut for v in r.verdicts)
        table.add_row(
            r.symbol,
            r.timeframe,
            str(len(r.verdicts)),
            ", ".join(r.leaky) or "-",
            f"{reacting}/{len(r.verdicts)}",
            "PASS" if r.passed else "FAIL",
        )
    _out().print(table)
