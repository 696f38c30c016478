"""A small WGAN-GP (LSTM generator, TCN critic) over windows of the four per-bar channels (plugins.gan.channels).

The generator maps a noise sequence to a channel sequence one step at a time (an LSTM), so it can be
unrolled to any length: it is trained on `window`-bar windows and generates long paths. The critic
reads a window and scores it from the mean of its hidden states. Training is seeded and uses one
thread; the same data and seed give the same generator.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs
import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from plugins.gan.channels import N_CHANNELS, ChannelScaler

F64 = npt.NDArray[np.float64]


@attrs.frozen
class GanConfig:
    window: int = 64
    hidden: int = 32
    noise: int = 8
    steps: int = 600  # generator updates
    critic_steps: int = 3  # critic updates per generator update
    batch: int = 64
    lr: float = 1e-3
    gp_weight: float = 10.0
    seed: int = 42


class Generator(nn.Module):
    def __init__(self, noise: int, hidden: int) -> None:
        super().__init__()
        self.noise = noise
        self.lstm = nn.LSTM(noise, hidden, batch_first=True, num_layers=2)
        self.out = nn.Linear(hidden, N_CHANNELS)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(z)
        out: torch.Tensor = self.out(h)
        return out


class Critic(nn.Module):
    """A dilated temporal convolution (TCN) critic: its double backward for the gradient penalty is
    cheap on a CPU, unlike an LSTM's."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv1d(N_CHANNELS + 2, hidden, 5, padding=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, hidden, 5, padding=4, dilation=2),
            nn.LeakyReLU(0.2),
            nn.Conv1d(hidden, hidden, 5, padding=8, dilation=4),
            nn.LeakyReLU(0.2),
        )
        self.out = nn.Linear(hidden * 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # |r| and r^2 as inputs make volatility clustering visible to a small critic
        feats = torch.cat([x, x[..., :1].abs(), x[..., :1] ** 2], dim=-1).transpose(1, 2)
        h = self.net(feats)
        out: torch.Tensor = self.out(torch.cat([h.mean(dim=2), h.std(dim=2)], dim=-1)).squeeze(-1)
        return out


def sample_windows(chans: Sequence[F64], window: int) -> F64:
    """Every gap-free window start of every run, as an index table (run, start)."""
    rows = [
        np.column_stack([np.full(c.shape[0] - window + 1, i), np.arange(c.shape[0] - window + 1)])
        for i, c in enumerate(chans)
        if c.shape[0] >= window
    ]
    if not rows:
        raise ValueError(f"no gap-free run of {window} bars to train the GAN on")
    return np.concatenate(rows)


@attrs.define
class TrainedGan:
    generator: Generator
    scaler: ChannelScaler
    config: GanConfig
    losses: list[tuple[float, float]]

    def generate(self, n_paths: int, length: int, seed: int) -> list[F64]:
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n_paths, length, self.config.noise, generator=g)
        self.generator.eval()
        with torch.no_grad():
            out = self.generator(z).double().numpy()
        return [self.scaler.unscale(p) for p in out]


def train_gan(chans: Sequence[F64], cfg: GanConfig, progress: Callable[[int, int], None] | None = None) -> TrainedGan:
    """WGAN-GP on the scaled channel windows of the real training runs (nothing else)."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    scaler = ChannelScaler.fit(list(chans))
    scaled = [torch.from_numpy(scaler.scale(c).astype(np.float32)) for c in chans]
    index = sample_windows(list(chans), cfg.window)
    offs = torch.arange(cfg.window)
    gen, critic = Generator(cfg.noise, cfg.hidden), Critic(cfg.hidden)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(0.5, 0.9))
    opt_c = torch.optim.Adam(critic.parameters(), lr=cfg.lr, betas=(0.5, 0.9))
    tg = torch.Generator().manual_seed(cfg.seed)

    def real_batch() -> torch.Tensor:
        pick = index[rng.integers(0, index.shape[0], cfg.batch)]
        return torch.stack([scaled[int(i)][int(s) + offs] for i, s in pick])  # batch rows, not bars

    losses: list[tuple[float, float]] = []
    for step in range(cfg.steps):
        for _ in range(cfg.critic_steps):
            real = real_batch()
            with torch.no_grad():
                fake = gen(torch.randn(cfg.batch, cfg.window, cfg.noise, generator=tg))
            eps = torch.rand(cfg.batch, 1, 1, generator=tg)
            mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
            grad = torch.autograd.grad(critic(mix).sum(), mix, create_graph=True)[0]
            gp = ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()
            loss_c = critic(fake).mean() - critic(real).mean() + cfg.gp_weight * gp
            opt_c.zero_grad()
            loss_c.backward()
            opt_c.step()
        fake = gen(torch.randn(cfg.batch, cfg.window, cfg.noise, generator=tg))
        loss_g = -critic(fake).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        losses.append((float(loss_c.detach()), float(loss_g.detach())))
        if progress is not None:
            progress(step + 1, cfg.steps)
    return TrainedGan(gen, scaler, cfg, losses)
