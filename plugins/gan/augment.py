"""The GAN augmenter behind `trading_ai_augment_training_set`: fit on one fold's training candles,
grade the generator (plugins.gan.quality), generate synthetic candles, turn them into samples with the
training side's own `make_samples`. A generator that fails its quality checks is not used (unless
`force`, the ablation's switch to measure it anyway). Generators are cached per (pair, bars, seed)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import numpy as np

from plugins.gan import channels as ch
from plugins.gan import quality as q
from plugins.gan.model import GanConfig, TrainedGan, train_gan
from plugins.gan.scores import discriminative_score, predictive_ratio
from ports.augmentation import AugmentRequest

PATH_BARS = 2048  # bars per generated path (features warm up inside each path)


@attrs.define
class Fitted:
    gan: TrainedGan
    checks: list[q.Check]
    passed: bool
    real_bars: int


def gan_config(gan: Mapping[str, Any], seed: int) -> GanConfig:
    keys = {f.name for f in attrs.fields(GanConfig)}
    return GanConfig(**{k: v for k, v in gan.items() if k in keys and k != "seed"}, seed=seed)


def grade(real: list[np.ndarray], gan: TrainedGan, th: q.Thresholds, seed: int) -> list[q.Check]:
    """Every quality check of a generator against the real training returns it was fitted on."""
    n = sum(r.size for r in real)
    paths = gan.generate(max(2, math.ceil(n / PATH_BARS)), PATH_BARS, seed + 1)
    syn = [p[:, 0] for p in paths]
    extra = {"discriminative": discriminative_score(real, syn, seed), "predictive_ratio": predictive_ratio(real, syn)}
    return q.evaluate(real, syn, th, extra)


@attrs.define
class GanAugmenter:
    force: bool = False  # the ablation measures a generator even when it fails its checks
    cache: dict[tuple[Any, ...], Fitted] = attrs.field(factory=dict)
    log: list[dict[str, Any]] = attrs.field(factory=list)
    progress: Any = None  # progress(label, step, total) while a generator trains (the CLI's bar)

    def fitted(self, req: AugmentRequest, seed: int) -> Fitted:
        gan_settings = dict(req.settings.get("gan", {}))
        cfg = gan_config(gan_settings, seed)
        c = req.candles
        key = (req.pair, len(c), int(c.ts[0]), int(c.ts[-1]), attrs.astuple(cfg))
        if key not in self.cache:
            chans = ch.to_channels(c)
            report = None if self.progress is None else (lambda i, n: self.progress(f"GAN {req.pair}", i, n))
            gan = train_gan(chans, cfg, report)
            checks = grade([x[:, 0] for x in chans], gan, q.Thresholds.from_settings(gan_settings), seed)
            self.cache[key] = Fitted(gan, checks, q.passed(checks), len(c))
        return self.cache[key]

    def augment(self, req: AugmentRequest, seed: int) -> tuple[list[Any], np.ndarray] | None:
        if req.target_rows <= 0:
            return None
        fit = self.fitted(req, seed)
        self.log.append({"pair": req.pair, "fold": req.fold, "passed": fit.passed, "used": fit.passed or self.force})
        if not (fit.passed or self.force):
            return None
        sets: list[Any] = []
        got = 0
        c = req.candles
        for i in range(64):  # paths until enough samples (each path is one vectorised feature pass)
            path = fit.gan.generate(1, PATH_BARS, seed * 1000 + i + 7)[0]
            start = int(c.ts[-1]) - (PATH_BARS + 1) * c.timeframe.minutes * 60_000 * (i + 1)
            syn = ch.to_candles(path, req.pair, c.timeframe, start, float(c.close[-1]))
            s = req.make_samples(syn)
            if len(s):
                sets.append(s)
                got += len(s)
            if got >= req.target_rows:
                break
        labels = np.concatenate([np.asarray(s.direction) for s in sets]) if sets else np.empty(0)
        return sets, labels
