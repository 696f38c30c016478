"""The two networks: a per-coin LSTM (direction) and a multi-coin Transformer (trend + direction).

Both take a batch of windows (B, L, F) plus symbol ids (B,) and return a dict with the direction
logit ("direction", shape (B,)) and, for the Transformer, the trend strength in ATR units
("trend", shape (B,)). The LSTM ignores the symbol ids: one LSTM is trained per coin.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class LSTMDirection(nn.Module):
    kind = "lstm"

    def __init__(self, n_features: int, hidden: int = 32, layers: int = 1, dropout: float = 0.1) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = {
            "n_features": n_features,
            "hidden": hidden,
            "layers": layers,
            "dropout": dropout,
        }
        self.lstm = nn.LSTM(
            n_features, hidden, num_layers=layers, batch_first=True, dropout=dropout if layers > 1 else 0.0
        )
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor, symbol: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        out, _ = self.lstm(x)
        return {"direction": self.head(self.drop(out[:, -1, :])).squeeze(-1)}


class TrendTransformer(nn.Module):
    """Encoder over the window's bars; a learned symbol embedding is added to every token so one
    network serves all coins while still knowing which one it is looking at."""

    kind = "transformer"

    def __init__(
        self,
        n_features: int,
        n_symbols: int,
        seq_len: int,
        d_model: int = 32,
        heads: int = 4,
        layers: int = 2,
        ff: int = 64,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.hparams: dict[str, Any] = {
            "n_features": n_features,
            "n_symbols": n_symbols,
            "seq_len": seq_len,
            "d_model": d_model,
            "heads": heads,
            "layers": layers,
            "ff": ff,
            "dropout": dropout,
        }
        self.proj = nn.Linear(n_features, d_model)
        self.pos = nn.Parameter(torch.zeros(1, seq_len, d_model))
        nn.init.normal_(self.pos, std=0.02)
        self.sym = nn.Embedding(n_symbols, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.direction_head = nn.Linear(d_model, 1)
        self.trend_head = nn.Linear(d_model, 1)

    def forward(self, x: torch.Tensor, symbol: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if symbol is None:
            symbol = torch.zeros(x.shape[0], dtype=torch.long, device=x.device)
        h = self.proj(x) + self.pos[:, -x.shape[1] :, :] + self.sym(symbol)[:, None, :]
        h = self.norm(self.encoder(h))
        # the last bar's token attends to the whole window; mean-pooling adds a smoothed summary
        z = h[:, -1, :] + h.mean(dim=1)
        return {"direction": self.direction_head(z).squeeze(-1), "trend": self.trend_head(z).squeeze(-1)}


def build_network(kind: str, hparams: dict[str, Any]) -> nn.Module:
    """Rebuild a network from its stored hyper-parameters (used by the registry and the Predictor)."""
    if kind == "lstm":
        return LSTMDirection(**hparams)
    if kind == "transformer":
        return TrendTransformer(**hparams)
    raise ValueError(f"unknown network kind {kind!r}; valid: lstm, transformer")
