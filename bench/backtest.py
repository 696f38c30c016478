"""Benchmark: our full backtest engine vs a vectorised numpy PnL and backtesting.py, same signals.

Data (real Binance candles from ../shared/data):
- 5m: BTC, ETH, BNB x 87,840 bars = 263,520 bars;
- ~1M 1m bars: the two real 1m files (BTC, ETH; 130,708 bars each) each replayed as 4 instruments
  on the same timeline (BTC-A..D, ETH-A..D) = 1,045,664 bars. Copies get the same baseline signals,
  so the sequential part sees 4x the candidates per scan: a harder case than 4 distinct coins.
Engine: momentum baseline probabilities (computed up front; "engine+predictor" times both in one span), confidence with
boosters and volatility regime, tiers with hysteresis, ATR stops, exits, rate limits, backoff, FTMO guard
(execution costs included),
fixed costs of 6 bps spread + 2 bps slippage + 3.25 bps fee per side, latency 800 ms (> SLA: penalty).
Baselines, timed in this same process on the engine's own emitted signals:
(a) numpy: the signals' PnL from entry open to exit price, vectorised;
(b) backtesting.py 0.6.6: a Strategy that opens each signal at its entry bar with the same SL/TP
    and closes at its exit bar (one instrument at a time, as that library runs).
The 1M-bar run executes in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from domain.backtest.baseline import MomentumSignPredictor  # noqa: E402
from domain.backtest.engine import EngineConfig, PairData, run  # noqa: E402
from domain.confidence import ConfidenceParams, EnsembleWeights  # noqa: E402
from domain.execution_costs import FixedCostModel  # noqa: E402
from domain.market import Candles, Timeframe  # noqa: E402
from domain.trading import SymbolSpec  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "candles" / "binance"


def load(sym: str, tf: str, name: str | None = None) -> Candles:
    df = pd.read_parquet(DATA / f"{sym}_USDT-{tf}.parquet")
    ts = df["timestamp"].astype("int64").to_numpy()
    return Candles(name or f"{sym}/USDT", Timeframe.parse(tf), ts, df["open"], df["high"], df["low"],
                   df["close"], df["volume"])


def cfg_for(horizon: int) -> EngineConfig:
    return EngineConfig(confidence=ConfidenceParams(weights=EnsembleWeights({"momentum": 1.0})),
                        horizon_bars=horizon, fee_bps=3.25, latency_ms=800.0)


def engine_run(bars: list[Candles], horizon: int, repeats: int = 3) -> dict[str, float | int]:
    """Best of `repeats` runs (the shared machine is noisy). "engine+predictor" is ONE timed span from
    the candles to the EngineResult (predictions, pair data, engine), not a sum of separate timings."""
    pred = MomentumSignPredictor()
    best: tuple[float, float, float] | None = None
    res = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        probs = [pred.probs(c.close) for c in bars]
        t1 = time.perf_counter()
        pairs = [PairData(c.symbol, c, {"momentum": p}, SymbolSpec(c.symbol, c.symbol))
                 for c, p in zip(bars, probs, strict=True)]
        prev, res = (None, None) if res is None else (res.final_balance, None)  # one result alive (RSS)
        out = run(pairs, cfg_for(horizon), FixedCostModel(6.0, 2.0), np.random.default_rng(1))
        t2 = time.perf_counter()
        if prev is not None and out.final_balance != prev:
            raise RuntimeError("the engine gave different results on the same inputs")
        res = out
        times = (t2 - t0, t1 - t0, t2 - t1)  # end to end, predictor, engine (with pair data)
        best = times if best is None else (min(best[0], times[0]), min(best[1], times[1]), min(best[2], times[2]))
    if best is None or res is None:
        raise ValueError("repeats must be >= 1")
    t_e2e, t_pred, t_eng = best
    n = sum(len(c) for c in bars)
    tr = res.trades
    # (a) vectorised numpy PnL of the same signals over every bar: a position series (held from the
    # entry bar to the exit bar) times each bar's open-to-open move, less fees at every change
    t_np = float("inf")
    for _ in range(repeats):  # best of `repeats`, as the engine
        t = time.perf_counter()
        pnl = 0.0
        for r, c in enumerate(bars):
            sel = tr["pair"] == r
            pos = np.zeros(len(c) + 1)
            np.add.at(pos, tr["bar"][sel] + 1, tr["sign"][sel] * tr["volume"][sel])
            np.add.at(pos, np.minimum(tr["exit_bar"][sel] + 1, len(c)), -tr["sign"][sel] * tr["volume"][sel])
            held = np.cumsum(pos)[:-1]
            move = np.diff(c.open, append=c.close[-1])
            pnl += float(np.sum(held * move) - np.sum(np.abs(np.diff(held, prepend=0.0)) * c.open) * 3.25e-4)
        t_np = min(t_np, time.perf_counter() - t)
    return {"bars": n, "pred_s": t_pred, "engine_s": t_eng, "e2e_s": t_e2e, "numpy_s": t_np,
            "signals": int(tr["pnl"].shape[0]),
            "candidates": int(sum(s.cand.shape[0] for s in res.stage1)), "numpy_pnl": pnl,
            "blocks": int(res.blocks["reason"].shape[0])}, res


def backtesting_py(bars: list[Candles], res, repeats: int = 3) -> tuple[float, int]:
    from backtesting import Backtest, Strategy

    tr = res.trades
    total = 0.0
    n = 0
    for r, c in enumerate(bars):
        sel = np.flatnonzero(tr["pair"] == r)
        df = pd.DataFrame({"Open": c.open, "High": c.high, "Low": c.low, "Close": c.close, "Volume": c.volume},
                          index=pd.to_datetime(c.ts, unit="ms"))
        entries = {int(tr["bar"][k]): (int(tr["sign"][k]), float(tr["sl"][k]), float(tr["tp"][k]),
                                       int(tr["exit_bar"][k])) for k in sel}

        class Replay(Strategy):
            plan = entries

            def init(self) -> None:
                self.exit_at = -1

            def next(self) -> None:
                i = len(self.data) - 1
                if self.position and i >= self.exit_at:
                    self.position.close()
                sig = self.plan.get(i)
                if sig is not None and not self.position:
                    sign, sl, tp, ex = sig
                    (self.buy if sign > 0 else self.sell)(size=0.01, sl=sl, tp=tp)
                    self.exit_at = ex

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bt = Backtest(df, Replay, cash=10_000_000, commission=3.25e-4, finalize_trades=True)
            best = float("inf")
            for _ in range(repeats):  # best of `repeats`, as the engine
                t = time.perf_counter()
                bt.run()
                best = min(best, time.perf_counter() - t)
            total += best
        n += len(c)
    return total, n


def report(label: str, m: dict, bt_s: float, bt_bars: int, rss_mib: float | None) -> None:
    eng_bps = m["bars"] / m["engine_s"]
    e2e_bps = m["bars"] / m["e2e_s"]
    np_bps = m["bars"] / m["numpy_s"] if m["numpy_s"] > 0 else float("inf")
    bt_bps = bt_bars / bt_s if bt_s > 0 else float("nan")
    print(f"== {label}: {m['bars']:,} bars, {m['candidates']:,} candidates, {m['signals']:,} signals, "
          f"{m['blocks']:,} stage-2 blocks")
    print(f"   engine            {m['engine_s']:8.3f} s  {eng_bps:>14,.0f} bars/s  (best of 3)")
    print(f"   engine+predictor  {m['e2e_s']:8.3f} s  {e2e_bps:>14,.0f} bars/s  (candles to result in one "
          f"timed span, best of 3; predictor alone {m['pred_s']:.3f} s)")
    print(f"   numpy PnL (same signals, best of 3) {m['numpy_s']:8.5f} s  {np_bps:>14,.0f} bars/s  "
          f"(engine is {eng_bps / np_bps:.4f}x of it)")
    print(f"   backtesting.py (same signals, best of 3) {bt_s:8.3f} s  {bt_bps:>14,.0f} bars/s  "
          f"(engine is {eng_bps / bt_bps:.2f}x of it)")
    if rss_mib is not None:
        print(f"   peak RSS {rss_mib:,.0f} MiB")


def child_1m() -> None:
    bars = []
    for sym in ("BTC", "ETH"):
        base = load(sym, "1m")
        for tag in "ABCD":
            bars.append(Candles(f"{sym}{tag}/USDT", base.timeframe, base.ts, base.open, base.high, base.low,
                                base.close, base.volume))
    m, res = engine_run(bars, horizon=15)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bt_s, bt_n = backtesting_py(bars[:2], res)  # two instruments (260k bars) are enough for its rate
    print("JSON" + json.dumps({"m": m, "bt_s": bt_s, "bt_n": bt_n, "rss": rss}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child-1m":
        child_1m()
        return
    bars = [load(s, "5m") for s in ("BTC", "ETH", "BNB")]
    m, res = engine_run(bars, horizon=3)
    bt_s, bt_n = backtesting_py(bars, res)
    report("5m, 3 x 87,840 real bars", m, bt_s, bt_n, None)
    out = subprocess.run([sys.executable, __file__, "--child-1m"], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if x.startswith("JSON"))
    d = json.loads(line[4:])
    report("1m, ~1M bars (BTC+ETH real 1m, each replayed as 4 instruments)", d["m"], d["bt_s"], d["bt_n"], d["rss"])


if __name__ == "__main__":
    main()
