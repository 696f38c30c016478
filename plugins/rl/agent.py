"""PPO on the trading environment: profiles, seeded training with validation-only model selection,
greedy evaluation rollouts and the agent's per-bar up-probability for the ensemble.

Seeding: one seed per run drives torch, numpy, Python's random (stable-baselines3's
`set_random_seed`), the VecEnv's episode starts and the action sampling; training runs on CPU with
one torch thread, so a rerun with the same seed gives the same weights and figures.

Model selection: every `eval_every` timesteps the policy is rolled out greedily over the fold's
VALIDATION bars; the checkpoint with the best validation return is kept. The test split is never
read during training or selection.

The ensemble member: the agent's probability that price goes up is read off its policy as if it
were flat at that bar: p_up = 0.5 + 0.5 x (pi(long) - pi(short)). An agent that would hold says 0.5
(no opinion), one that would go long says more than 0.5.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
import torch
from gymnasium import spaces

from plugins.rl.env import (
    ACTIONS,
    F32,
    F64,
    LONG,
    POSITION_FEATURES,
    SHORT,
    EnvConfig,
    Market,
    Segment,
    TradingKernel,
    TradingVecEnv,
)


@attrs.frozen
class PPOConfig:
    total_timesteps: int = 60_000
    n_envs: int = 16
    n_steps: int = 128
    batch_size: int = 512
    n_epochs: int = 4
    learning_rate: float = 3e-4
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    net_arch: tuple[int, ...] = (64, 64)
    eval_every: int = 15_000


@attrs.frozen
class GateThresholds:
    min_improvement_pp: float = 2.0  # net return of the ensemble with RL minus without, median over seeds
    stability_last_k: int = 3  # the last k validation rewards ...
    stability_max_spread_pp: float = 1.0  # ... lie within this spread (max - min, percentage points)
    max_action_share: float = 0.95  # no single chosen action above this share of the test steps
    min_seeds: int = 5


@attrs.frozen
class RLSettings:
    profile: str = "default"
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    env: EnvConfig = EnvConfig()
    ppo: PPOConfig = PPOConfig()
    gate: GateThresholds = GateThresholds()
    threads: int = 1

    def seed_values(self, base: int) -> list[int]:
        """The run seed from config combined with each seed index."""
        return [int(np.random.SeedSequence([base, s]).generate_state(1)[0] % (2**31 - 1)) for s in self.seeds]


def default_settings(window: int) -> RLSettings:
    """Sized for <= 15 minutes on 2 CPU cores (5 seeds, one fold of BTC, ETH and BNB 5m)."""
    return RLSettings("default", env=EnvConfig(window=window))


def quick_settings(window: int) -> RLSettings:
    """<= 2 minutes on 2 cores: tiny budgets, the mechanics and the gate, not a result."""
    return RLSettings(
        "quick",
        env=EnvConfig(window=window, episode_bars=512),
        ppo=PPOConfig(
            total_timesteps=4096, n_envs=4, n_steps=256, batch_size=256, n_epochs=2, net_arch=(32, 32), eval_every=1024
        ),
    )


@attrs.frozen
class Rollout:
    """A greedy pass over each segment from its first bar (one env per segment), flat at the start."""

    return_pct: list[float]  # per segment: final equity vs start, after costs
    steps: int
    chosen: list[int]  # counts per action
    executed: list[int]
    time_in_position: dict[str, float]  # share of steps long / short / flat
    terminated: list[bool]  # drawdown limit hit
    equity: list[list[float]]  # per segment, equity after each step (subsampled to <= 200 points)

    @property
    def mean_return_pct(self) -> float:
        return float(np.mean(self.return_pct)) if self.return_pct else float("nan")

    def chosen_share(self) -> dict[str, float]:
        tot = max(1, sum(self.chosen))
        return {a: c / tot for a, c in zip(ACTIONS, self.chosen, strict=True)}

    def executed_share(self) -> dict[str, float]:
        tot = max(1, sum(self.executed))
        return {a: c / tot for a, c in zip(ACTIONS, self.executed, strict=True)}


def build_policy(obs_dim: int, net_arch: Sequence[int]) -> Any:
    from stable_baselines3.common.policies import ActorCriticPolicy

    return ActorCriticPolicy(
        spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32),
        spaces.Discrete(len(ACTIONS)),
        lambda _p: 0.0,
        net_arch=list(net_arch),
    )


@torch.inference_mode()
def action_probs(policy: Any, obs: F32, batch: int = 4096) -> np.ndarray:
    out = []
    for s in range(0, obs.shape[0], batch):
        t = torch.as_tensor(obs[s : s + batch], dtype=torch.float32)
        out.append(policy.get_distribution(t).distribution.probs.numpy().astype(np.float64))
    return np.concatenate(out) if out else np.zeros((0, len(ACTIONS)))


def rollout(policy: Any, markets: Sequence[Market], segments: Sequence[Segment], cfg: EnvConfig) -> Rollout:
    """Greedy (argmax) actions, all segments stepped together; an env stops at its segment's end or
    at the drawdown limit (flat from then on)."""
    n = len(segments)
    k = TradingKernel(markets, attrs.evolve(cfg, episode_bars=10**12), n)
    k.start(np.arange(n), segments, np.array([max(s.start, cfg.window - 1) for s in segments], dtype=np.int64))
    alive = np.ones(n, dtype=bool)
    chosen = np.zeros(len(ACTIONS), dtype=np.int64)
    executed = np.zeros(len(ACTIONS), dtype=np.int64)
    pos_counts = np.zeros(3, dtype=np.int64)  # short, flat, long
    term = np.zeros(n, dtype=bool)
    curves: list[list[float]] = [[1.0] for _ in range(n)]
    final = np.ones(n)
    steps = 0
    while alive.any():
        idx = np.flatnonzero(alive)
        obs = k.observe(idx)
        a = np.argmax(action_probs(policy, obs), axis=1).astype(np.int64)
        acts = np.zeros(n, dtype=np.int64)
        acts[idx] = a
        _r, t, tr, ex = k.step(acts, alive)
        chosen += np.bincount(a, minlength=len(ACTIONS))
        executed += np.bincount(ex[idx], minlength=len(ACTIONS))
        pos_counts += np.bincount((k.pos[idx] + 1).astype(np.int64), minlength=3)
        steps += int(idx.shape[0])
        for i in idx.tolist():
            curves[i].append(float(k.equity[i]))
        ended = idx[(t | tr)[idx]]
        term[ended] = t[ended]
        final[ended] = k.equity[ended]
        alive[ended] = False
    tot = max(1, int(pos_counts.sum()))
    return Rollout(
        [float((e - 1.0) * 100) for e in final],
        steps,
        chosen.tolist(),
        executed.tolist(),
        {"short": pos_counts[0] / tot, "flat": pos_counts[1] / tot, "long": pos_counts[2] / tot},
        term.tolist(),
        [_subsample(c, 200) for c in curves],
    )


def _subsample(x: list[float], m: int) -> list[float]:
    if len(x) <= m:
        return x
    idx = np.linspace(0, len(x) - 1, m).round().astype(int)
    return [x[i] for i in idx.tolist()]


def flat_observations(x: F32, window: int) -> tuple[F32, np.ndarray]:
    """Every bar's observation as a flat agent would see it (position state zero), for rows t >= window-1;
    returns (obs, row index of each)."""
    from numpy.lib.stride_tricks import sliding_window_view

    n, f = x.shape
    if n < window:
        return np.zeros((0, window * f + len(POSITION_FEATURES)), dtype=np.float32), np.zeros(0, dtype=np.int64)
    w = sliding_window_view(x, (window, f))[:, 0].reshape(n - window + 1, window * f)
    obs = np.concatenate([w, np.zeros((w.shape[0], len(POSITION_FEATURES)), dtype=np.float32)], axis=1)
    return obs.astype(np.float32), np.arange(window - 1, n, dtype=np.int64)


def prob_up(policy: Any, x: F32, window: int) -> F64:
    """Per bar: 0.5 + 0.5 (pi(long) - pi(short)) of a flat agent; NaN where no full window exists."""
    out = np.full(x.shape[0], np.nan)
    obs, rows = flat_observations(x, window)
    if rows.shape[0]:
        p = action_probs(policy, obs)
        out[rows] = 0.5 + 0.5 * (p[:, LONG] - p[:, SHORT])
    return out


@attrs.frozen
class EvalPoint:
    timesteps: int
    val_return_pct: float
    train_episode_reward: float  # mean reward of the training episodes finished since the last point


@attrs.frozen(eq=False)
class TrainedSeed:
    seed: int
    policy_state: dict[str, torch.Tensor]
    curve: tuple[EvalPoint, ...]
    best_index: int
    seconds: float
    obs_dim: int
    net_arch: tuple[int, ...]

    def policy(self) -> Any:
        pol = build_policy(self.obs_dim, self.net_arch)
        pol.load_state_dict(self.policy_state)
        pol.set_training_mode(False)
        return pol


def train_seed(
    markets: Sequence[Market],
    train: Sequence[Segment],
    val: Sequence[Segment],
    settings: RLSettings,
    seed: int,
    on_progress: Callable[[int], None] = lambda _n: None,
) -> TrainedSeed:
    """PPO from scratch with one seed; keeps the checkpoint with the best validation return."""
    import time

    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback

    t0 = time.perf_counter()
    torch.set_num_threads(max(1, settings.threads))
    c = settings.ppo
    venv = TradingVecEnv(markets, train, settings.env, c.n_envs)
    model = PPO(
        "MlpPolicy",
        venv,
        learning_rate=c.learning_rate,
        n_steps=c.n_steps,
        batch_size=c.batch_size,
        n_epochs=c.n_epochs,
        gamma=c.gamma,
        gae_lambda=c.gae_lambda,
        clip_range=c.clip_range,
        ent_coef=c.ent_coef,
        vf_coef=c.vf_coef,
        max_grad_norm=c.max_grad_norm,
        policy_kwargs={"net_arch": list(c.net_arch)},
        seed=seed,
        device="cpu",
        verbose=0,
    )
    episode_rewards: list[float] = []
    running = np.zeros(c.n_envs)

    class _Episodes(BaseCallback):
        def _on_step(self) -> bool:
            running[:] += self.locals["rewards"]
            for i in np.flatnonzero(self.locals["dones"]).tolist():
                episode_rewards.append(float(running[i]))
                running[i] = 0.0
            on_progress(int(c.n_envs))
            return True

    cb = _Episodes()
    curve: list[EvalPoint] = []
    best_state: dict[str, torch.Tensor] | None = None
    best_val = -np.inf
    best_index = 0
    done = 0
    while done < c.total_timesteps:
        chunk = min(c.eval_every, c.total_timesteps - done)
        model.learn(chunk, callback=cb, reset_num_timesteps=False)
        done = int(model.num_timesteps)
        model.policy.set_training_mode(False)
        score = rollout(model.policy, markets, val, settings.env).mean_return_pct
        ep = float(np.mean(episode_rewards)) if episode_rewards else float("nan")
        episode_rewards.clear()
        curve.append(EvalPoint(done, score, ep))
        if score > best_val:
            best_val, best_index = score, len(curve) - 1
            best_state = copy.deepcopy(model.policy.state_dict())
    assert best_state is not None
    return TrainedSeed(
        seed,
        best_state,
        tuple(curve),
        best_index,
        time.perf_counter() - t0,
        int(venv.kernel.obs_dim),
        tuple(c.net_arch),
    )
