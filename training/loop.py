"""The training loop: early stopping on validation loss, gradient clipping and accumulation, AMP on
CUDA, a checkpoint every epoch with resume, seeded batches (deterministic on CPU), progress bars.
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch
from torch import nn

from domain.errors import UserError
from training.datasets import WindowSet


@attrs.frozen
class LoopConfig:
    epochs: int = 6
    batch_size: int = 256
    grad_accum: int = 1
    lr: float = 1e-3
    weight_decay: float = 1e-4
    clip_norm: float = 1.0
    patience: int = 2
    trend_weight: float = 0.5
    seed: int = 42
    device: str = "auto"  # auto | cpu | cuda
    amp: bool = True  # used on CUDA only
    max_train_samples: int = 0  # 0 = all; otherwise a seeded subsample per epoch (bounds CPU time)


@attrs.frozen
class EpochLog:
    epoch: int
    train_loss: float
    val_loss: float
    samples_per_s: float
    seconds: float


@attrs.frozen
class FitResult:
    best_epoch: int
    best_val_loss: float
    history: tuple[EpochLog, ...]
    device: str
    amp_dtype: str
    resumed_from: int


def pick_device(pref: str) -> torch.device:
    if pref == "cuda" or (pref == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


def _amp(device: torch.device, enabled: bool) -> tuple[torch.dtype | None, Callable[[], Any]]:
    if device.type != "cuda" or not enabled:
        return None, contextlib.nullcontext
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return dtype, lambda: torch.autocast("cuda", dtype=dtype)


def _tensors(ws: WindowSet, sel: np.ndarray, device: torch.device) -> tuple[torch.Tensor, ...]:
    return (
        torch.from_numpy(ws.windows(sel)).to(device, non_blocking=True),
        torch.from_numpy(ws.symbol[sel]).to(device),
        torch.from_numpy(ws.direction[sel]).to(device),
        torch.from_numpy(ws.trend[sel]).to(device),
    )


def _loss(out: dict[str, torch.Tensor], yd: torch.Tensor, yt: torch.Tensor, trend_weight: float) -> torch.Tensor:
    loss = nn.functional.binary_cross_entropy_with_logits(out["direction"].float(), yd)
    if "trend" in out and trend_weight > 0:
        loss = loss + trend_weight * nn.functional.smooth_l1_loss(out["trend"].float(), yt)
    return loss


@torch.inference_mode()
def evaluate_loss(model: nn.Module, ws: WindowSet, cfg: LoopConfig, device: torch.device) -> float:
    model.eval()
    _, autocast = _amp(device, cfg.amp)
    total, n = 0.0, 0
    for sel in ws.batches(max(cfg.batch_size, 1024), None):
        x, s, yd, yt = _tensors(ws, sel, device)
        with autocast():
            out = model(x, s)
        total += float(_loss(out, yd, yt, cfg.trend_weight)) * len(sel)
        n += len(sel)
    return total / max(n, 1)


@torch.inference_mode()
def predict(
    model: nn.Module, ws: WindowSet, device: torch.device | None = None, batch_size: int = 2048
) -> dict[str, np.ndarray]:
    """Up-probability ("prob_up") and, when the network has one, trend strength for every sample."""
    device = device or next(model.parameters()).device
    model.eval()
    probs, trends = [], []
    for sel in ws.batches(batch_size, None):
        x, s, _, _ = _tensors(ws, sel, device)
        out = model(x, s)
        probs.append(torch.sigmoid(out["direction"].float()).cpu().numpy())
        if "trend" in out:
            trends.append(out["trend"].float().cpu().numpy())
    res = {"prob_up": np.concatenate(probs).astype(np.float64) if probs else np.zeros(0)}
    if trends:
        res["trend"] = np.concatenate(trends).astype(np.float64)
    return res


def _epoch_batches(ws: WindowSet, cfg: LoopConfig, epoch: int) -> Iterator[np.ndarray]:
    # a generator per (seed, epoch): a resumed run sees exactly the batches the first run would have
    rng = np.random.default_rng([cfg.seed, epoch])
    order = rng.permutation(len(ws))
    if cfg.max_train_samples and cfg.max_train_samples < len(order):
        order = order[: cfg.max_train_samples]
    for s in range(0, len(order), cfg.batch_size):
        yield order[s : s + cfg.batch_size]


def fit(
    model: nn.Module,
    train: WindowSet,
    val: WindowSet,
    cfg: LoopConfig,
    checkpoint: Path | None = None,
    resume: bool = False,
    label: str = "model",
    progress: Any = None,
) -> FitResult:
    """Train in place; on return the model holds the weights of the epoch with the lowest val loss."""
    device = pick_device(cfg.device)
    model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    amp_dtype, autocast = _amp(device, cfg.amp)
    scaler = torch.amp.GradScaler("cuda") if amp_dtype is torch.float16 else None
    start_epoch, best_val, best_epoch, bad = 0, float("inf"), -1, 0
    best_state: dict[str, torch.Tensor] = copy.deepcopy(model.state_dict())
    history: list[EpochLog] = []
    resumed_from = -1
    # more epochs may be asked for on resume; anything else changing makes the checkpoint foreign
    hp = sorted(getattr(model, "hparams", {}).items())
    signature = f"{label}|{len(train)}|{len(val)}|{hp}|{attrs.evolve(cfg, epochs=0)}"
    if resume and checkpoint is not None and checkpoint.is_file():
        ck = torch.load(checkpoint, map_location=device, weights_only=True)
        if ck.get("signature") != signature:
            raise UserError(
                f"checkpoint {checkpoint} is from a different run (data, model or settings changed); "
                "run without --resume"
            )
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        best_state = ck["best_state"]
        start_epoch, best_val, best_epoch, bad = (
            int(ck["epoch"]) + 1,
            float(ck["best_val"]),
            int(ck["best_epoch"]),
            int(ck["bad"]),
        )
        history = [EpochLog(**h) for h in ck["history"]]
        resumed_from = int(ck["epoch"])
    n_batches = -(-min(len(train), cfg.max_train_samples or len(train)) // cfg.batch_size)
    task = (
        progress.add_task(f"{label}", total=cfg.epochs * n_batches, completed=start_epoch * n_batches)
        if progress is not None
        else None
    )
    for epoch in range(start_epoch, cfg.epochs):
        if bad > cfg.patience:
            break
        model.train()
        # dropout draws from torch's global generator: seed it per epoch so a resumed run matches
        torch.manual_seed(cfg.seed * 10_007 + epoch)
        t0 = time.perf_counter()
        run_loss, seen = 0.0, 0
        opt.zero_grad(set_to_none=True)
        for step, sel in enumerate(_epoch_batches(train, cfg, epoch)):
            x, s, yd, yt = _tensors(train, sel, device)
            with autocast():
                out = model(x, s)
            loss = _loss(out, yd, yt, cfg.trend_weight) / cfg.grad_accum
            # torch declares Tensor.backward without annotations (torch/_tensor.py): an untyped call
            (scaler.scale(loss) if scaler else loss).backward()  # type: ignore[no-untyped-call]
            if (step + 1) % cfg.grad_accum == 0 or (step + 1) == n_batches:
                if scaler:
                    scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_norm)
                if scaler:
                    scaler.step(opt)
                    scaler.update()
                else:
                    opt.step()
                opt.zero_grad(set_to_none=True)
            run_loss += float(loss.detach()) * cfg.grad_accum * len(sel)
            seen += len(sel)
            if task is not None:
                el = time.perf_counter() - t0
                progress.update(
                    task,
                    advance=1,
                    description=(
                        f"{label} e{epoch + 1}/{cfg.epochs} loss {run_loss / seen:.4f} {seen / max(el, 1e-9):,.0f}/s"
                    ),
                )
        secs = time.perf_counter() - t0
        val_loss = evaluate_loss(model, val, cfg, device)
        history.append(EpochLog(epoch, run_loss / max(seen, 1), val_loss, seen / max(secs, 1e-9), secs))
        if val_loss < best_val - 1e-5:
            best_val, best_epoch, bad = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
            tmp = checkpoint.with_suffix(".tmp")
            torch.save(
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "best_state": best_state,
                    "epoch": epoch,
                    "best_val": best_val,
                    "best_epoch": best_epoch,
                    "bad": bad,
                    "history": [attrs.asdict(h) for h in history],
                    "signature": signature,
                },
                tmp,
            )
            tmp.replace(checkpoint)
        if bad > cfg.patience:
            if task is not None:
                progress.update(
                    task, completed=cfg.epochs * n_batches, description=f"{label} stopped early at epoch {epoch + 1}"
                )
            break
    model.load_state_dict(best_state)
    return FitResult(
        best_epoch,
        best_val,
        tuple(history),
        device.type,
        str(amp_dtype).replace("torch.", "") if amp_dtype else "none",
        resumed_from,
    )
