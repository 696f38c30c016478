"""The trading environment: real candles' feature windows, the product's costs on every entry and exit.

One step is one bar. At bar t the agent observes the standardised feature window ending at t (the
`window` rows the supervised models see) and its position state as the backtest can know it at
t's close: side, unrealised return against the entry close, bars held, drawdown from the episode's
equity peak. Its action (hold / long / short / close) fills at close[t] and pays the one-way cost of
bar t (half the expected spread + slippage + latency penalty from the cost model, plus the
commission) per unit of position changed; a reversal pays two sides. The reward is the change of
equity from close[t] to close[t+1] after those costs, in percent of the starting equity: it reads
bar t+1 (the outcome of the decision at t), never a later bar. The episode ends (terminated) when
equity falls `max_drawdown_pct` below its peak, or is truncated after `episode_bars` steps or at the
end of its segment; an open position is then closed at that bar's close and pays its exit cost.

Masking: stable-baselines3's PPO has no action masks (MaskablePPO lives in sb3-contrib, which this
project does not install). An impossible action (long while long, short while short, close while
flat) is executed as hold, inside the environment, and both the chosen and the executed action are
reported, so an agent that keeps choosing impossible actions shows up in the action distribution.

`TradingKernel` holds the state of n environments as arrays and steps them together (numpy, no loop
over environments or bars); `TradingEnv` is the gymnasium.Env over one of them and `TradingVecEnv`
the stable-baselines3 VecEnv over n. Both run the same kernel.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import gymnasium as gym
import numpy as np
import numpy.typing as npt
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

ACTIONS: tuple[str, ...] = ("hold", "long", "short", "close")
HOLD, LONG, SHORT, CLOSE = 0, 1, 2, 3
POSITION_FEATURES: tuple[str, ...] = ("side", "unrealised_pct", "held_frac", "drawdown_pct")


@attrs.frozen(eq=False)
class Market:
    """One pair's arrays: standardised feature rows (NaN already 0), closes and the one-way cost of a
    fill at each bar's close, as a fraction of price (costs and commission of one side)."""

    pair: str
    ts: I64
    x: F32
    close: F64
    cost: F64

    def __len__(self) -> int:
        return int(self.ts.shape[0])


@attrs.frozen
class Segment:
    """Bars [start, stop) of market `market`: decisions at start..stop-2 (each needs the next close)."""

    market: int
    start: int
    stop: int

    @property
    def decisions(self) -> int:
        return max(0, self.stop - 1 - self.start)


@attrs.frozen
class EnvConfig:
    window: int = 24
    episode_bars: int = 2048
    max_drawdown_pct: float = 5.0
    reward_scale: float = 100.0  # reward in percent of the starting equity
    held_norm: int = 288  # bars held are reported as min(held / held_norm, 1)


class TradingKernel:
    """State and step of n environments over the same markets, as arrays."""

    def __init__(self, markets: Sequence[Market], cfg: EnvConfig, n: int) -> None:
        if not markets:
            raise ValueError("no markets")
        self.cfg = cfg
        self.markets = tuple(markets)
        self.n = n
        self.n_features = int(markets[0].x.shape[1])
        offs = np.cumsum([0] + [len(m) for m in markets])
        self.offset = offs[:-1].astype(np.int64)
        self.x = np.ascontiguousarray(np.concatenate([m.x for m in markets]).astype(np.float32))
        self.close = np.concatenate([m.close for m in markets]).astype(np.float64)
        self.cost = np.concatenate([m.cost for m in markets]).astype(np.float64)
        self.obs_dim = cfg.window * self.n_features + len(POSITION_FEATURES)
        self._offs = np.arange(-cfg.window + 1, 1, dtype=np.int64)
        z = np.zeros(n)
        self.g = np.zeros(n, dtype=np.int64)  # global row of the current bar
        self.stop = np.zeros(n, dtype=np.int64)  # global exclusive end of the segment
        self.pos, self.entry, self.equity, self.peak = z.copy(), z.copy(), np.ones(n), np.ones(n)
        self.held = np.zeros(n, dtype=np.int64)
        self.steps = np.zeros(n, dtype=np.int64)

    def start(self, envs: I64, segments: Sequence[Segment], starts: I64) -> None:
        """Put envs `envs` flat at bar `starts[i]` (local index) of `segments[i]`."""
        for e, s, t in zip(envs.tolist(), segments, starts.tolist(), strict=True):
            if not s.start <= t < s.stop - 1 or t < self.cfg.window - 1:
                raise ValueError(f"start {t} outside segment {s} (window {self.cfg.window})")
            self.g[e] = self.offset[s.market] + t
            self.stop[e] = self.offset[s.market] + s.stop
        self.pos[envs] = 0.0
        self.entry[envs] = 0.0
        self.equity[envs] = 1.0
        self.peak[envs] = 1.0
        self.held[envs] = 0
        self.steps[envs] = 0

    def observe(self, envs: I64 | None = None) -> F32:
        e = np.arange(self.n) if envs is None else envs
        rows = self.x[self.g[e][:, None] + self._offs[None, :]].reshape(e.shape[0], -1)
        return np.concatenate([rows, self.position_state(e)], axis=1).astype(np.float32)

    def position_state(self, e: I64) -> F32:
        c = self.close[self.g[e]]
        pos = self.pos[e]
        with np.errstate(invalid="ignore", divide="ignore"):
            unreal = np.where(pos != 0, pos * (c / np.where(self.entry[e] > 0, self.entry[e], c) - 1.0) * 100, 0.0)
        held = np.minimum(self.held[e] / self.cfg.held_norm, 1.0)
        dd = (1.0 - self.equity[e] / self.peak[e]) * 100
        return np.stack([pos, unreal, held, dd], axis=1).astype(np.float32)

    @staticmethod
    def executed(actions: I64, pos: F64) -> I64:
        """Impossible actions become hold: long while long, short while short, close while flat."""
        a = np.asarray(actions, dtype=np.int64).copy()
        a[((a == LONG) & (pos > 0)) | ((a == SHORT) & (pos < 0)) | ((a == CLOSE) & (pos == 0))] = HOLD
        return a

    def step(
        self, actions: I64, active: npt.NDArray[np.bool_] | None = None
    ) -> tuple[F64, npt.NDArray[np.bool_], npt.NDArray[np.bool_], I64]:
        """Advance every env (or the `active` ones; the others keep their state and get reward 0) one
        bar: (reward, terminated, truncated, executed action)."""
        on = np.ones(self.n, dtype=bool) if active is None else np.asarray(active, dtype=bool)
        a = np.where(on, self.executed(actions, self.pos), HOLD)
        g = self.g
        g1 = np.where(on, g + 1, g)
        target = np.select([a == LONG, a == SHORT, a == CLOSE], [1.0, -1.0, 0.0], default=self.pos)
        change = np.abs(target - self.pos)
        eq0 = self.equity.copy()
        eq = eq0 * (1.0 - change * self.cost[g])
        opened = (target != self.pos) & (target != 0)
        self.entry = np.where(opened, self.close[g], np.where(target == 0, 0.0, self.entry))
        held = np.where((target == 0) | opened, 0, self.held)
        eq = eq * (1.0 + target * (self.close[g1] / self.close[g] - 1.0))
        self.pos = target
        self.g = g1
        self.held = np.where(on, held + (target != 0), self.held)
        self.steps = self.steps + on
        self.peak = np.maximum(self.peak, eq)
        terminated = on & ((1.0 - eq / self.peak) * 100 >= self.cfg.max_drawdown_pct)
        truncated = on & ~terminated & ((self.steps >= self.cfg.episode_bars) | (g1 + 1 >= self.stop))
        done = terminated | truncated
        # an episode that ends closes its position at this bar's close and pays the exit
        eq = np.where(done, eq * (1.0 - np.abs(self.pos) * self.cost[g1]), eq)
        self.equity = eq
        return (eq - eq0) * self.cfg.reward_scale, terminated, truncated, a


def _obs_space(dim: int) -> spaces.Box:
    return spaces.Box(low=-np.inf, high=np.inf, shape=(dim,), dtype=np.float32)


def _random_starts(
    rng: np.random.Generator, segments: Sequence[Segment], k: int, min_room: int, window: int
) -> tuple[list[Segment], I64]:
    """k (segment, start) pairs: segments drawn by their length, starts uniform with room to run."""
    lengths = np.array([max(1, s.decisions) for s in segments], dtype=np.float64)
    pick = rng.choice(len(segments), size=k, p=lengths / lengths.sum())
    segs = [segments[i] for i in pick.tolist()]
    lo = np.array([max(s.start, window - 1) for s in segs], dtype=np.int64)
    hi = np.array(
        [max(max(s.start, window - 1) + 1, s.stop - 1 - min(min_room, s.decisions // 2)) for s in segs], dtype=np.int64
    )
    return segs, rng.integers(lo, hi)


class TradingEnv(gym.Env[F32, np.int64]):
    """gymnasium.Env over one environment of the kernel. `reset(options={"segment": i, "start": t})`
    starts at a given bar; otherwise a random segment and start drawn from the seeded np_random."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, markets: Sequence[Market], segments: Sequence[Segment], cfg: EnvConfig) -> None:
        self.kernel = TradingKernel(markets, cfg, 1)
        self.segments = tuple(segments)
        self.cfg = cfg
        self.observation_space = _obs_space(self.kernel.obs_dim)  # type: ignore[assignment]
        self.action_space = spaces.Discrete(len(ACTIONS))

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[F32, dict[str, Any]]:
        super().reset(seed=seed)
        opts = options or {}
        if "segment" in opts:
            seg = self.segments[int(opts["segment"])]
            start = np.array([int(opts.get("start", max(seg.start, self.cfg.window - 1)))], dtype=np.int64)
            segs = [seg]
        else:
            segs, start = _random_starts(self.np_random, self.segments, 1, self.cfg.episode_bars, self.cfg.window)
        self.kernel.start(np.array([0]), segs, start)
        return self.kernel.observe()[0], {"bar": int(start[0])}

    def step(self, action: Any) -> tuple[F32, float, bool, bool, dict[str, Any]]:
        chosen = np.array([int(action)], dtype=np.int64)
        r, term, trunc, a = self.kernel.step(chosen)
        info = {
            "executed_action": int(a[0]),
            "chosen_action": int(chosen[0]),
            "equity": float(self.kernel.equity[0]),
            "position": float(self.kernel.pos[0]),
        }
        return self.kernel.observe()[0], float(r[0]), bool(term[0]), bool(trunc[0]), info


class TradingVecEnv(VecEnv):
    """n environments stepped together by one kernel (the vectorised form of `TradingEnv`), with the
    VecEnv auto-reset: a finished env restarts at a random segment and start, and its last observation
    is in `infos[i]["terminal_observation"]`."""

    def __init__(self, markets: Sequence[Market], segments: Sequence[Segment], cfg: EnvConfig, n_envs: int) -> None:
        self.kernel = TradingKernel(markets, cfg, n_envs)
        self.segments = tuple(segments)
        self.cfg = cfg
        self.render_mode = None
        self._rng = np.random.default_rng(0)
        self._actions = np.zeros(n_envs, dtype=np.int64)
        super().__init__(n_envs, _obs_space(self.kernel.obs_dim), spaces.Discrete(len(ACTIONS)))

    def _restart(self, envs: I64) -> None:
        segs, starts = _random_starts(
            self._rng, self.segments, int(envs.shape[0]), self.cfg.episode_bars, self.cfg.window
        )
        self.kernel.start(envs, segs, starts)

    def reset(self) -> F32:
        if self._seeds[0] is not None:
            self._rng = np.random.default_rng(self._seeds[0])
        self._reset_seeds()
        self._reset_options()
        self._restart(np.arange(self.num_envs))
        return self.kernel.observe()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)

    def step_wait(self) -> tuple[F32, F64, npt.NDArray[np.bool_], list[dict[str, Any]]]:
        r, term, trunc, a = self.kernel.step(self._actions)
        obs = self.kernel.observe()
        done = term | trunc
        infos: list[dict[str, Any]] = [{"executed_action": int(x)} for x in a.tolist()]
        idx = np.flatnonzero(done)
        if idx.shape[0]:
            for i in idx.tolist():
                infos[i]["terminal_observation"] = obs[i].copy()
                infos[i]["TimeLimit.truncated"] = bool(trunc[i])
            self._restart(idx)
            obs[idx] = self.kernel.observe(idx)
        return obs, r.astype(np.float32), done, infos

    def close(self) -> None:
        return None

    def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
        return [getattr(self, attr_name) for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any) -> list[Any]:
        return [getattr(self, method_name)(*method_args, **method_kwargs) for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]], indices: Any = None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def _indices(self, indices: Any) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)
