"""What training hands an augmentation plugin (`trading_ai_augment_training_set`): one pair's fold.

Training passes an `AugmentRequest` as the hook's `features` (and the real training labels as
`labels`). The plugin learns from `candles` (the fold's training bars only: nothing at or after the
validation block), generates synthetic candles and turns them into samples with `make_samples`, the
training side's own feature -> standardise -> window path (so synthetic rows are built exactly as
real ones). It returns `(samples, labels)` where `samples` is a list of what `make_samples` returned;
training tags them `synthetic`, caps them to `target_rows` and puts them into the training split only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from domain.market import Candles


@attrs.frozen(eq=False)
class AugmentRequest:
    pair: str
    candles: Candles  # the fold's training bars only
    target_rows: int  # synthetic samples wanted (the cap already applied)
    seq_len: int
    horizon: int
    make_samples: Callable[[Candles], Any]  # synthetic candles -> a sample set with len()
    fold: int = 0
    settings: Mapping[str, Any] = attrs.field(factory=dict)  # the effective config as plain dicts (composition)
