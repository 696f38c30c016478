"""The GAN augmentation plugin (`pip install -e .[gan]`; torch is a core dependency): a small WGAN-GP
(LSTM generator, TCN critic) over windows of log returns and high/low/volume relative to close, trained
on one fold's training candles only, whose samples may enter a training split (tagged `synthetic`,
capped) through `trading_ai_augment_training_set`. Off unless `[gan] enabled = true`
(`GAN_ENABLED`), which the ablation (`trading-ai gan ablation`) says only when it helps; a generator
that fails its quality thresholds is never used. See docs/gan.md.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from plugins.hookspecs import hookimpl

__version__ = "0.1.0"

if importlib.util.find_spec("torch") is None:
    raise ImportError("the gan plugin needs torch: pip install -e .[gan]")

_AUGMENTER: Any = None


@hookimpl
def trading_ai_augment_training_set(name: str, features: Any, labels: Any, seed: int) -> tuple[Any, Any] | None:
    """`features` is a ports.augmentation.AugmentRequest (one pair's fold); None when disabled."""
    from ports.augmentation import AugmentRequest

    global _AUGMENTER
    if not isinstance(features, AugmentRequest) or not features.settings.get("gan", {}).get("enabled", False):
        return None
    if _AUGMENTER is None:
        from plugins.gan.augment import GanAugmenter

        _AUGMENTER = GanAugmenter()
    result: tuple[Any, Any] | None = _AUGMENTER.augment(features, seed)
    return result
