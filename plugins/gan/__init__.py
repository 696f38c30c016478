"""The GAN augmentation plugin (`pip install -e .[gan]`; torch is a core dependency): a small WGAN-GP
over windows of log returns and high/low/volume relative to close, trained on one fold's training
candles only, whose samples may enter a training split (tagged, capped) through
`trading_ai_augment_training_set`. See docs/gan.md."""

from __future__ import annotations

__version__ = "0.1.0"
