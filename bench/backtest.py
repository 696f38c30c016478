"""Benchmark: the product's backtest on three workloads of real candles, against vectorbt and
backtesting.py on the same entries, checked trade by trade against a plain-Python reference.

Workloads (real Binance candles from ../shared/data, the momentum baseline's probabilities, the
configured rules through the product's settings builder, fixed costs 6 bps spread + 2 bps slippage,
commission and latency as configured):
  (a) default rules: 5m BTC, ETH, BNB (3 x 87,840 bars);
  (b) trading-heavy: the same bars and default risk (0.5 %, policy, position limits), with FTMO limits
      and buffers at 100 % so the floors never bind, on a 1e9 balance (HEAVY_BALANCE: on 100,000 the
      baseline is broke by mid-period and then stops trading); the workload a fast engine must be
      fast on;
  (c) ~1M 1m bars: the two real 1m files (BTC, ETH; 130,708 bars each), each replayed as 4
      instruments on the same timeline (BTC-A..D, ETH-A..D) = 1,045,664 bars, floors and balance as (b)
      (on 100,000 the baseline is down to 11 within weeks and the rest of the run is blocked by sizing);
      run in a child process so its peak RSS is its own.

Timed spans (best of `--repeats`, default 3; (b) and (c) best of 2): our engine from the per-bar
probabilities to the EngineResult (stage 1, the sequential account, exits); vectorbt
`Portfolio.from_signals` and backtesting.py `Backtest.run` from their inputs to their trades.
Before any timing every library runs once on a small slice (numba compiles, caches load): that JIT
warm-up is printed apart and excluded.

The peers replay OUR entries (signal bar, direction, stop and target levels, horizon); they
do not decide anything, so they do strictly less work than our engine. Both enter at the signal
bar's close (the level our stops are set from) so that their stop checks start on our entry bar:
  vectorbt: sl_stop/tp_stop = distance / close at the signal bar, time exit = exit signal at the
    close of the horizon's last bar; one order per bar and instrument, so an entry on the bar where
    the previous trade leaves (by stop, target or time) is dropped, an entry while in a position is
    ignored and an opposite one reverses it; stops fill at the open when the bar opens beyond them,
    TARGETS TOO (ours fill a target at its price, never better); SL checked before TP.
  backtesting.py: hedging=True (overlapping trades allowed, as ours), trade_on_close=True, sl/tp
    per order, time exit by a close at the horizon's last bar (SL/TP cancelled first); stop fill
    at the worse of open and stop, target at the better of open and target (as vectorbt); SL first.
Each peer's line says how many of our entries it reproduced and how many of those left on our exit
bar. `matched` compares our engine with bench/reference.py: exit bar and reason exactly, entry and
exit fills and P&L to 1e-9 relative. The bench exits 1 when any trade differs.

Run from the repository root: `python bench/backtest.py [--repeats N]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar: off the timed path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import attrs  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import reference  # noqa: E402

from adapters.execution_metrics.cost_model import load_cost_model  # noqa: E402
from adapters.market_data.bundled import BundledCandles  # noqa: E402
from composition.config import Config, load_config  # noqa: E402
from composition.settings import kernel_settings  # noqa: E402
from domain.backtest.baseline import MomentumSignPredictor  # noqa: E402
from domain.backtest.engine import EngineConfig, EngineResult, PairData, run  # noqa: E402
from domain.execution_costs import CostModel  # noqa: E402
from domain.market import Candles, Timeframe  # noqa: E402
from domain.trading import SymbolSpec  # noqa: E402

SPREAD_BPS, SLIPPAGE_BPS = 6.0, 2.0
NEVER_BINDING: dict[str, Any] = {
    "daily_loss_limit_pct": 100.0,
    "max_loss_limit_pct": 100.0,
    "daily_buffer_pct": 100.0,
    "total_buffer_pct": 100.0,
}


# ------------------------------------------------------------------------------ the product's pipeline


# (b)'s balance: the momentum baseline loses to costs, and on 100,000 it is broke by mid-period, after
# which every candidate is below the minimum lot (an account that has stopped trading again). On 1e9
# (the config's ceiling) the 100-lot cap binds before the 0.5 % risk does: no sizing, margin or floor
# block ever stops a trade, only the policy and the position limits do.
HEAVY_BALANCE = 1e9


def product_config(never_binding: bool, balance: float | None = None) -> Config:
    config = load_config(env_file=None)
    if never_binding:
        config = attrs.evolve(config, risk=attrs.evolve(config.risk, **NEVER_BINDING))
    if balance is not None:
        config = attrs.evolve(config, risk=attrs.evolve(config.risk, initial_balance=balance))
    return config


def engine_config(config: Config) -> EngineConfig:
    """The backtest's engine settings, built the way `trading-ai backtest --model baseline` builds them:
    the one settings builder, then the engine's view of it for the momentum baseline."""
    return EngineConfig.from_settings(kernel_settings(config), ("momentum",))


def costs_for(config: Config) -> CostModel:
    return load_cost_model(config, "fixed", SPREAD_BPS, SLIPPAGE_BPS)


def pair_data(config: Config, series: Sequence[Candles]) -> list[PairData]:
    """As the backtest loads them: the baseline's probabilities and the paper account's margin."""
    pred = MomentumSignPredictor()
    return [
        PairData(
            c.symbol,
            c,
            {"momentum": pred.probs(c.close)},
            SymbolSpec(c.symbol, c.symbol.replace("/USDT", "USD"), margin_rate=1.0 / config.broker.paper_leverage),
        )
        for c in series
    ]


def _first(c: Candles, n: int) -> Candles:
    return Candles(c.symbol, c.timeframe, c.ts[:n], c.open[:n], c.high[:n], c.low[:n], c.close[:n], c.volume[:n])


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def ours(
    pairs: Sequence[PairData], cfg: EngineConfig, costs: CostModel, seed: int, repeats: int
) -> tuple[float, EngineResult]:
    results: list[EngineResult] = []

    def once() -> EngineResult:
        res = run(pairs, cfg, costs, np.random.default_rng(seed))
        if results and (
            res.final_balance != results[0].final_balance or res.trades["pnl"].shape != results[0].trades["pnl"].shape
        ):
            raise SystemExit("the engine gave different results on the same inputs")
        results[:] = [res]
        return res

    return timed(once, repeats)


# ------------------------------------------------------------------------------ the reference


def check_reference(pairs: Sequence[PairData], res: EngineResult, cfg: EngineConfig) -> tuple[int, int, list[str]]:
    tr = res.trades
    n = int(tr["pnl"].shape[0])
    cols = {r: [x.tolist() for x in (p.bars.open, p.bars.high, p.bars.low, p.bars.close)] for r, p in enumerate(pairs)}
    ok, bad = 0, list[str]()
    for k in range(n):
        r = int(tr["pair"][k])
        ref = reference.resolve(
            int(tr["sign"][k]),
            int(tr["bar"][k]),
            float(tr["sl"][k]),
            float(tr["tp"][k]),
            cfg.horizon_bars,
            float(tr["volume"][k]),
            pairs[r].spec.contract_size,
            float(tr["spread_bps"][k]),
            float(tr["slippage_bps"][k]),
            float(tr["latency_penalty_bps"][k]),
            cfg.fee_bps,
            *cols[r],
        )
        same = (
            ref.exit_bar == int(tr["exit_bar"][k])
            and ref.reason == int(tr["exit_reason"][k])
            and reference.close_enough(ref.entry_fill, float(tr["entry_fill"][k]))
            and reference.close_enough(ref.exit_fill, float(tr["exit_fill"][k]))
            and reference.close_enough(ref.pnl, float(tr["pnl"][k]))
        )
        if same:
            ok += 1
        elif len(bad) < 5:
            bad.append(
                f"trade {k} ({pairs[r].pair} bar {int(tr['bar'][k])}): engine exit bar "
                f"{int(tr['exit_bar'][k])} reason {int(tr['exit_reason'][k])} "
                f"fill {float(tr['exit_fill'][k])!r} pnl {float(tr['pnl'][k])!r}; reference {ref}"
            )
    return ok, n, bad


# ------------------------------------------------------------------------------ the peers


def _entries(pairs: Sequence[PairData], res: EngineResult, r: int) -> dict[str, np.ndarray]:
    tr = res.trades
    sel = np.flatnonzero(tr["pair"] == r)
    return {k: np.asarray(tr[k])[sel] for k in ("bar", "sign", "sl", "tp", "exit_bar", "volume")}


def vectorbt_inputs(pairs: Sequence[PairData], res: EngineResult, horizon: int) -> dict[str, Any]:
    n = max(len(p.bars) for p in pairs)
    m = len(pairs)
    shape = (n, m)
    close = np.full(shape, np.nan)
    open_, high, low = close.copy(), close.copy(), close.copy()
    long_e, short_e = np.zeros(shape, bool), np.zeros(shape, bool)
    long_x, short_x = np.zeros(shape, bool), np.zeros(shape, bool)
    sl_stop, tp_stop, size = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    for r, p in enumerate(pairs):
        b = p.bars
        k = len(b)
        close[:k, r], open_[:k, r], high[:k, r], low[:k, r] = b.close, b.open, b.high, b.low
        e = _entries(pairs, res, r)
        i = e["bar"]
        ref = b.close[i]
        lng = e["sign"] > 0
        long_e[i[lng], r] = True
        short_e[i[~lng], r] = True
        ex = np.minimum(i + horizon, k - 1)  # close of the horizon's last bar (entry bar i + 1)
        long_x[ex[lng], r] = True
        short_x[ex[~lng], r] = True
        sl_stop[i, r] = np.abs(ref - e["sl"]) / ref
        tp_stop[i, r] = np.abs(e["tp"] - ref) / ref
        size[i, r] = e["volume"] * p.spec.contract_size
    return {
        "close": close,
        "open": open_,
        "high": high,
        "low": low,
        "entries": long_e,
        "exits": long_x,
        "short_entries": short_e,
        "short_exits": short_x,
        "sl_stop": sl_stop,
        "tp_stop": tp_stop,
        "size": size,
    }


def run_vectorbt(inputs: dict[str, Any], fee_bps: float) -> Any:
    import vectorbt as vbt

    return vbt.Portfolio.from_signals(
        **inputs,
        fees=fee_bps / 1e4,
        slippage=(SPREAD_BPS / 2 + SLIPPAGE_BPS) / 1e4,
        init_cash=1e15,
        stop_exit_price="stoplimit",
        freq="1min",
    )


def vectorbt_agreement(pf: Any, pairs: Sequence[PairData], res: EngineResult) -> tuple[int, int, int]:
    """(vectorbt trades, of which enter on one of our signal bars, of those exit on our exit bar)."""
    rec = pf.trades.records
    n_trades = int(rec.shape[0])
    ours_map: dict[tuple[int, int], int] = {}
    for r in range(len(pairs)):
        e = _entries(pairs, res, r)
        for i, x in zip(e["bar"].tolist(), e["exit_bar"].tolist(), strict=True):
            ours_map.setdefault((r, i), x)
    same_entry = same_exit = 0
    for col, ei, xi in zip(rec["col"].tolist(), rec["entry_idx"].tolist(), rec["exit_idx"].tolist(), strict=True):
        x = ours_map.get((col, ei))
        if x is not None:
            same_entry += 1
            same_exit += int(xi == x)
    return n_trades, same_entry, same_exit


def backtesting_py(
    pairs: Sequence[PairData], res: EngineResult, horizon: int, fee_bps: float, repeats: int
) -> tuple[float, int, int, int, int]:
    """(seconds, bars, its trades, entries reproduced, exits on our exit bar)."""
    from backtesting import Backtest, Strategy

    total_s, bars, n_trades, same_entry, same_exit = 0.0, 0, 0, 0, 0
    for r, p in enumerate(pairs):
        b = p.bars
        e = _entries(pairs, res, r)
        df = pd.DataFrame(
            {"Open": b.open, "High": b.high, "Low": b.low, "Close": b.close, "Volume": b.volume},
            index=pd.to_datetime(b.ts, unit="ms"),
        )
        plan: dict[int, list[tuple[int, float, float, int]]] = {}
        for q, (i, s, sl, tp) in enumerate(
            zip(e["bar"].tolist(), e["sign"].tolist(), e["sl"].tolist(), e["tp"].tolist(), strict=True)
        ):
            plan.setdefault(i, []).append((s, sl, tp, q))
        last = len(b) - 1

        class Replay(Strategy):  # type: ignore[misc]
            entries_at = plan  # class attributes: bound now, not when a method runs
            last_bar = last

            def init(self) -> None:
                pass

            def next(self) -> None:
                i = len(self.data) - 1
                for t in self.trades:
                    if t.entry_bar + horizon <= i or i == self.last_bar:  # time exit at the close
                        t.sl = None
                        t.tp = None
                        t.close()
                for s, sl, tp, q in self.entries_at.get(i, ()):
                    (self.buy if s > 0 else self.sell)(size=1, sl=sl, tp=tp, tag=q)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bt = Backtest(
                df, Replay, cash=1e15, commission=fee_bps / 1e4, hedging=True, trade_on_close=True, finalize_trades=True
            )
            secs, stats = timed(bt.run, repeats)
        total_s += secs
        bars += len(b)
        trades = stats["_trades"]
        n_trades += len(trades)
        ex_of = dict(enumerate(e["exit_bar"].tolist()))
        for tag, eb, xb in zip(
            trades["Tag"].tolist(), trades["EntryBar"].tolist(), trades["ExitBar"].tolist(), strict=True
        ):
            q = int(tag)
            if int(eb) == int(e["bar"][q]):
                same_entry += 1
                same_exit += int(int(xb) == ex_of[q])
    return total_s, bars, n_trades, same_entry, same_exit


# ------------------------------------------------------------------------------ one workload


def warm_up(pairs: Sequence[PairData], cfg: EngineConfig, costs: CostModel, seed: int) -> tuple[float, float]:
    """Compile and load everything once on a small slice, excluded from every timing:
    (our engine's seconds, vectorbt's seconds)."""
    small = [
        attrs.evolve(p, bars=_first(p.bars, 3000), probs={k: v[:3000] for k, v in p.probs.items()}) for p in pairs[:2]
    ]
    t0 = time.perf_counter()
    res = run(small, cfg, costs, np.random.default_rng(seed))
    t1 = time.perf_counter()
    pf = run_vectorbt(vectorbt_inputs(small, res, cfg.horizon_bars), cfg.fee_bps)
    _ = pf.trades.records
    return t1 - t0, time.perf_counter() - t1


def workload(
    name: str,
    pairs: Sequence[PairData],
    cfg: EngineConfig,
    costs: CostModel,
    seed: int,
    repeats: int,
    bt_pairs: int | None = None,
) -> dict[str, Any]:
    jit_s, vbt_jit_s = warm_up(pairs, cfg, costs, seed)
    eng_s, res = ours(pairs, cfg, costs, seed, repeats)
    rss_engine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before any peer runs
    bars = int(sum(len(p.bars) for p in pairs))
    ok, n, bad = check_reference(pairs, res, cfg)
    inputs = vectorbt_inputs(pairs, res, cfg.horizon_bars)
    vbt_s, pf = timed(lambda: run_vectorbt(inputs, cfg.fee_bps), repeats)
    vbt = vectorbt_agreement(pf, pairs, res)
    sub = list(pairs) if bt_pairs is None else list(pairs[:bt_pairs])
    bt_s, bt_bars, *bt = backtesting_py(sub, res, cfg.horizon_bars, cfg.fee_bps, 1 if bt_pairs else repeats)
    reasons = np.asarray(res.blocks["reason"], dtype=np.int64)
    blocks = np.bincount(reasons).tolist() if reasons.shape[0] else []
    return {
        "name": name,
        "bars": bars,
        "trades": n,
        "matched": ok,
        "bad": bad,
        "engine_s": eng_s,
        "jit_s": jit_s,
        "vbt_jit_s": vbt_jit_s,
        "rss_engine": rss_engine,
        "vbt_s": vbt_s,
        "vbt": list(vbt),
        "bt_s": bt_s,
        "bt_bars": bt_bars,
        "bt": bt,
        "candidates": int(sum(s.cand.shape[0] for s in res.stage1)),
        "blocks": int(res.blocks["reason"].shape[0]),
        "block_codes": blocks,
        "final_balance": res.final_balance,
        "breach_episodes": res.breach_episodes,
        "repeats": repeats,
    }


def report(label: str, w: dict[str, Any], rss_mib: float | None = None) -> bool:
    bps = w["bars"] / w["engine_s"]
    vbt_bps = w["bars"] / w["vbt_s"]
    bt_bps = w["bt_bars"] / w["bt_s"]
    vt, ve, vx = w["vbt"]
    bt_n, be, bx = w["bt"]
    print(f"== ({w['name']}) {label}")
    print(
        f"   {w['bars']:,} bars, {w['candidates']:,} candidates, {w['trades']:,} trades, {w['blocks']:,} "
        f"stage-2 blocks, final balance {w['final_balance']:,.2f}, breach episodes {w['breach_episodes']}"
    )
    print(
        f"   JIT warm-up on a 2 x 3,000-bar slice (compile / cache load, excluded): ours {w['jit_s']:.2f} s, "
        f"vectorbt {w['vbt_jit_s']:.2f} s"
    )
    print(f"   ours            {w['engine_s']:8.3f} s {bps:>14,.0f} bars/s (best of {w['repeats']})")
    print(
        f"   vectorbt        {w['vbt_s']:8.3f} s {vbt_bps:>14,.0f} bars/s; {vt:,} trades, {ve:,} on our entries, "
        f"{vx:,} of those on our exit bar"
    )
    print(
        f"   backtesting.py  {w['bt_s']:8.3f} s {bt_bps:>14,.0f} bars/s over {w['bt_bars']:,} bars; {bt_n:,} trades, "
        f"{be:,} on our entries, {bx:,} of those on our exit bar"
    )
    if rss_mib is not None:
        print(
            f"   peak RSS {w['rss_engine']:,.0f} MiB after our engine (data, predictions, engine; before any peer "
            f"runs), {rss_mib:,.0f} MiB at the end"
        )
    for line in w["bad"]:
        print(f"   MISMATCH {line}")
    print(
        f"RESULT workload={w['name']} bars={w['bars']} trades={w['trades']} bars_per_s={bps:.0f} "
        f"vs_vectorbt={bps / vbt_bps:.3f} vs_backtesting={bps / bt_bps:.2f} matched={w['matched']}/{w['trades']}"
    )
    return bool(w["matched"] == w["trades"])


def one_minute(config: Config) -> list[Candles]:
    src = BundledCandles(config.data.candles_dir)
    out = []
    for sym in ("BTC/USDT", "ETH/USDT"):
        base = src.candles(sym, Timeframe.M1)
        for tag in "ABCD":
            out.append(
                Candles(
                    f"{sym.split('/')[0]}{tag}/USDT",
                    base.timeframe,
                    base.ts,
                    base.open,
                    base.high,
                    base.low,
                    base.close,
                    base.volume,
                )
            )
    return out


def child_c(repeats: int) -> None:
    config = product_config(never_binding=True, balance=HEAVY_BALANCE)
    cfg = engine_config(config)
    pairs = pair_data(config, one_minute(config))
    w = workload("c", pairs, cfg, costs_for(config), config.seed, repeats, bt_pairs=2)
    w["rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("JSON" + json.dumps(w))


def main() -> int:
    t0 = time.perf_counter()
    import vectorbt  # noqa: F401  (its import compiles its numba kernels: timed apart, excluded)

    print(f"vectorbt import (numba compile of its kernels, excluded): {time.perf_counter() - t0:.1f} s")
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child-c", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_c:
        child_c(max(1, args.repeats - 1))
        return 0
    ok = True
    config = product_config(never_binding=False)
    src = BundledCandles(config.data.candles_dir)
    five = [src.candles(s, Timeframe.M5) for s in config.data.symbols]
    pairs = pair_data(config, five)
    w = workload("a", pairs, engine_config(config), costs_for(config), config.seed, args.repeats)
    ok &= report("default rules, 5m BTC/ETH/BNB (real)", w)
    heavy = product_config(never_binding=True, balance=HEAVY_BALANCE)
    w = workload(
        "b", pair_data(heavy, five), engine_config(heavy), costs_for(heavy), heavy.seed, max(1, args.repeats - 1)
    )
    ok &= report(
        "trading-heavy: default risk, FTMO floors at 100 % (never bind), 1e9 balance, 5m BTC/ETH/BNB (real)", w
    )
    out = subprocess.run(
        [sys.executable, __file__, "--child-c", "--repeats", str(args.repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("JSON")), None)
    if out.returncode != 0 or line is None:
        print(out.stdout + out.stderr, file=sys.stderr)
        return 1
    w = json.loads(line[4:])
    ok &= report(
        "~1M 1m bars: BTC+ETH real 1m, each replayed as 4 instruments, floors and balance as (b); "
        "backtesting.py on 2 of the 8",
        w,
        w["rss"],
    )
    if not ok:
        print("FAIL: some trades differ from the reference", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
