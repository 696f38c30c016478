"""PPO is seeded end to end: the same seed gives the same weights, curve and probabilities; another seed
does not. SYNTHETIC prices (labelled): this checks the seeding, not what the agent learns."""

from __future__ import annotations

import attrs
import numpy as np
import torch

from plugins.rl.agent import PPOConfig, RLSettings, prob_up, train_seed
from plugins.rl.env import EnvConfig, Market, Segment


def _market() -> Market:
    rng = np.random.default_rng(7)
    n = 1200
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return Market("SYN/USDT", np.arange(n, dtype=np.int64) * 300_000, x, close, np.full(n, 5e-4))


SETTINGS = RLSettings(
    "test",
    seeds=(0,),
    env=EnvConfig(window=4, episode_bars=128),
    ppo=PPOConfig(
        total_timesteps=512, n_envs=4, n_steps=64, batch_size=128, n_epochs=2, net_arch=(16,), eval_every=256
    ),
)


def test_same_seed_same_agent_other_seed_other_agent() -> None:
    torch.set_num_threads(1)
    m = _market()
    train, val = [Segment(0, 0, 900)], [Segment(0, 900, 1200)]
    a = train_seed([m], train, val, SETTINGS, seed=123)
    b = train_seed([m], train, val, SETTINGS, seed=123)
    c = train_seed([m], train, val, attrs.evolve(SETTINGS), seed=124)
    np.testing.assert_equal([attrs.astuple(p) for p in a.curve], [attrs.astuple(p) for p in b.curve])  # NaN-aware
    assert a.best_index == b.best_index and len(a.curve) == 2
    assert all(torch.equal(a.policy_state[k], b.policy_state[k]) for k in a.policy_state)
    np.testing.assert_array_equal(prob_up(a.policy(), m.x, 4), prob_up(b.policy(), m.x, 4))
    assert not all(torch.equal(a.policy_state[k], c.policy_state[k]) for k in a.policy_state)
