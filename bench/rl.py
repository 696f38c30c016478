"""Benchmark: the RL environment's steps per second on real candles, vectorised vs single, and PPO's
timesteps per second on each (the work `trading-ai rl train` runs).

Markets: the last 20,000 real 5m bars of BTC, ETH and BNB, the full feature set, a 24-bar window
(the default supervised window), the fixed 10 bps round-trip cost model plus 3.25 bps commission.
Compared in the same process, best of 3 rounds interleaved (the machine is shared):
- single: one `TradingEnv` (gymnasium.Env) stepped in a Python loop, the baseline;
- dummy-vec: stable-baselines3's DummyVecEnv over N `TradingEnv` (the usual way to vectorise);
- kernel-vec: `TradingVecEnv`, N environments stepped together by one array kernel (what training uses).
Then PPO (MlpPolicy 64x64, CPU, one thread) for a fixed number of timesteps on dummy-vec vs kernel-vec.
Run from the repository root: `python bench/rl.py [--envs 16] [--steps 20000] [--ppo-steps 8192]`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import numpy as np  # noqa: E402
import torch  # noqa: E402

from adapters.market_data.bundled import BundledCandles  # noqa: E402
from composition.config import DEFAULT_SHARED_DATA  # noqa: E402
from domain.execution_costs import FixedCostModel  # noqa: E402
from domain.features import FeatureParams, compute_features  # noqa: E402
from domain.market import Timeframe  # noqa: E402
from plugins.rl.data import FoldRanges, build_pair  # noqa: E402
from plugins.rl.env import EnvConfig, TradingEnv, TradingVecEnv  # noqa: E402

WINDOW = 24


def _markets(bars: int) -> tuple[list, list]:  # type: ignore[type-arg]
    src = BundledCandles(os.environ.get("CANDLES_DIR", DEFAULT_SHARED_DATA / "candles" / "binance"))
    pairs = []
    for i, sym in enumerate(("BTC/USDT", "ETH/USDT", "BNB/USDT")):
        c = src.candles(sym, Timeframe.M5).tail(bars)
        names = compute_features(c.tail(3000), FeatureParams()).names
        ts = c.ts
        fold = FoldRanges(
            (int(ts[2000]), int(ts[-3000])), (int(ts[-2900]), int(ts[-1500])), (int(ts[-1400]), int(ts[-1]))
        )
        pairs.append((i, build_pair(c, FeatureParams(), names, fold, WINDOW, FixedCostModel(6.0, 2.0), 3.25, 250.0)))
    return [p.market for _, p in pairs], [p.segment(i, "train") for i, p in pairs]


def _best(fns, rounds: int = 3) -> list[float]:  # type: ignore[no-untyped-def]
    best = [float("inf")] * len(fns)
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--envs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=20_000, help="environment steps per measurement")
    ap.add_argument("--ppo-steps", type=int, default=8192, help="PPO timesteps per measurement")
    a = ap.parse_args()
    torch.set_num_threads(1)
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv

    markets, segs = _markets(20_000)
    cfg = EnvConfig(window=WINDOW)
    n = a.envs
    rng = np.random.default_rng(0)
    actions = rng.integers(0, 4, (a.steps // n + 1, n))
    single = TradingEnv(markets, segs, cfg)
    dummy = DummyVecEnv([lambda: TradingEnv(markets, segs, cfg) for _ in range(n)])
    kernel = TradingVecEnv(markets, segs, cfg, n)

    def run_single() -> None:
        single.reset(seed=1)
        for t in range(a.steps):
            *_, term, trunc, _i = single.step(int(actions[t // n, t % n]))
            if term or trunc:
                single.reset()

    def run_vec(v) -> None:  # type: ignore[no-untyped-def]
        v.seed(1)
        v.reset()
        for t in range(a.steps // n):
            v.step(actions[t])

    t_single, t_dummy, t_kernel = _best([run_single, lambda: run_vec(dummy), lambda: run_vec(kernel)])
    steps = a.steps // n * n
    print(f"environment steps/s on real candles ({len(markets)} pairs, window {WINDOW}, {n} envs):")
    print(f"  single TradingEnv        {a.steps / t_single:12,.0f}   (baseline)")
    print(f"  DummyVecEnv x {n:<3}        {steps / t_dummy:12,.0f}   {t_single / a.steps * steps / t_dummy:6.1f} x")
    print(f"  TradingVecEnv x {n:<3}      {steps / t_kernel:12,.0f}   {t_single / a.steps * steps / t_kernel:6.1f} x")

    def ppo_on(v) -> None:  # type: ignore[no-untyped-def]
        PPO(
            "MlpPolicy",
            v,
            n_steps=128,
            batch_size=512,
            n_epochs=4,
            seed=1,
            device="cpu",
            verbose=0,
            policy_kwargs={"net_arch": [64, 64]},
        ).learn(a.ppo_steps)

    t_pd, t_pk = _best([lambda: ppo_on(dummy), lambda: ppo_on(kernel)], rounds=2)
    print(f"PPO timesteps/s (MlpPolicy 64x64, CPU, 1 thread, {n} envs, {a.ppo_steps} timesteps):")
    print(f"  on DummyVecEnv           {a.ppo_steps / t_pd:12,.0f}   (baseline)")
    print(f"  on TradingVecEnv         {a.ppo_steps / t_pk:12,.0f}   {t_pd / t_pk:6.1f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
