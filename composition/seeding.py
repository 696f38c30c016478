"""One seed from config for random, numpy and torch (and cuDNN's flags when CUDA is present)."""

from __future__ import annotations

import os
import random
import sys

import numpy as np


def seed_everything(seed: int) -> np.random.Generator:
    """Seed the global generators and return a fresh numpy Generator for code that takes one."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    if "torch" not in sys.modules:
        # Importing torch costs seconds; commands that never touch it should not pay. Code that
        # trains calls seed_torch (training seeds from the same config seed), and inference has no
        # randomness.
        return np.random.default_rng(seed)
    seed_torch(seed)
    return np.random.default_rng(seed)


def seed_torch(seed: int) -> None:
    import torch

    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
