"""One training run: features -> labelled windows -> walk-forward folds -> baselines, LSTM per coin,
multi-coin Transformer -> calibration on validation -> metrics on validation and test -> gates.

The networks of the most recent fold are the run's artefacts (the registry stores them); earlier
folds only contribute out-of-sample test figures. Candles come in from the caller (the CLI loads
them through the market-data adapter), features from `domain.features.compute_features`: the same
code path as the backtest and the runtime.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import torch

from domain import evaluation as ev
from domain.calibration import CalibrationMap, calibration_to_dict
from domain.execution_costs import CostModel, FixedCostModel
from domain.feature_matrix import FeatureMatrix
from domain.features import FeatureParams, compute_features, warmup_bars
from domain.market import Candles, Timeframe
from domain.normalisation import Standardiser
from domain.settings import KernelSettings
from domain.signals import TierThresholds
from services.backtest import TradeSample
from training import baselines as bl
from training.batch_predict import block_probs
from training.bundle_roles import bundle_roles, common_meta
from training.calibration_fit import choose, fit_calibrators
from training.datasets import (
    PairSeries,
    WindowSet,
    build_series,
    class_balance,
    concat_sets,
    rows_used,
    synthetic_target,
    take,
    walk_forward_folds,
    window_set,
)
from training.gates import GateConfig, GateResult, all_passed, evaluate_gates, trade_gate
from training.leakage import LeakageResult, check_feature_causality
from training.loop import FitResult, LoopConfig, fit, predict
from training.networks import LSTMDirection, TrendTransformer
from training.predictor import RuntimeFeatures, predictors_from

# the plugin host's augment_training_set(name, features, labels, seed) -> [(samples, labels), ...]
Augment = Callable[[str, Any, Any, int], Sequence[tuple[Any, Any]]]
# (pairs, engine config, model names) -> the same with the enabled plugins' members and weights, as the
# backtest has them (composition.runtime.plugins.with_plugins, handed in by the composition root)
Members = Callable[[list[Any], Any, tuple[str, ...]], tuple[list[Any], Any]]

# Until measured costs are supplied: 6 bps spread + 2 x 2 bps slippage = 10 bps round trip.
DEFAULT_FIXED_COSTS = FixedCostModel(spread_bps=6.0, slippage_bps=2.0)


@attrs.frozen
class TrainSettings:
    horizon_minutes: int = 15
    seq_len: int = 32
    n_folds: int = 2
    val_frac: float = 0.15
    test_frac: float = 0.15
    lstm_hidden: int = 32
    lstm_layers: int = 1
    tf_d_model: int = 32
    tf_heads: int = 4
    tf_layers: int = 2
    tf_ff: int = 64
    dropout: float = 0.1
    lstm_loop: LoopConfig = LoopConfig()
    tf_loop: LoopConfig = LoopConfig()
    ensemble_weights: tuple[tuple[str, float], ...] = (("lstm", 0.5), ("transformer", 0.5))
    feature_params: FeatureParams = FeatureParams()
    thresholds: TierThresholds = TierThresholds()
    gates: GateConfig = GateConfig()
    max_bars: int = 0  # 0 = all; else only the most recent bars (the quick profile)
    threads: int = 1  # the machine is shared: two threads per process oversubscribe it and run slower
    leakage_cuts: int = 3
    seed: int = 42
    profile: str = "default"

    fee_bps: float = 0.0  # commission per side charged by the expectancy gate (the backtest's)
    # the trade gate runs the test split through the batch engine on these settings (None: the defaults)
    kernel: KernelSettings | None = None
    margin_rate: float = 1.0  # the symbol's margin per notional in the trade gate (1 / paper leverage)
    latency_ms: float = 0.0  # decision-to-order latency the cost model penalises above its SLA
    # share of each pair's training split made of augmentation-plugin (GAN) samples; 0 = none, > 0.20 refused
    synthetic_share: float = 0.0

    def horizon_bars(self, timeframe: Timeframe) -> int:
        return max(1, self.horizon_minutes // timeframe.minutes)

    def on_kernel(self, k: KernelSettings) -> TrainSettings:
        """These settings graded as the product decides: the kernel's tiers, ensemble weights (with the
        runtime's fallback), lowest emitted tier, commission and latency (composition.settings)."""
        w = k.weights_for(("lstm", "transformer")).as_dict()
        return attrs.evolve(
            self,
            thresholds=k.thresholds,
            fee_bps=k.fee_bps,
            latency_ms=k.latency_ms,
            kernel=k,
            ensemble_weights=tuple((n, float(w.get(n, 0.0))) for n in ("lstm", "transformer")),
            gates=attrs.evolve(self.gates, emit_min_tier=k.emit_min_tier),
        )


def default_settings(seed: int = 42, device: str = "auto") -> TrainSettings:
    """Sized to finish within 15 minutes on a shared 2-core CPU for BTC, ETH and BNB on 5m: each
    epoch sees a seeded subsample of the training windows (a fresh one every epoch)."""
    lstm = LoopConfig(epochs=4, batch_size=256, lr=2e-3, patience=1, seed=seed, device=device, max_train_samples=30_000)
    tfm = LoopConfig(epochs=4, batch_size=256, lr=1e-3, patience=1, seed=seed, device=device, max_train_samples=25_000)
    return TrainSettings(seq_len=24, lstm_loop=lstm, tf_loop=tfm, seed=seed)


def quick_settings(seed: int = 42, device: str = "auto") -> TrainSettings:
    """About a minute on 2 cores: the most recent ~3 weeks of bars, one fold, small nets, 2 epochs."""
    lstm = LoopConfig(epochs=3, batch_size=256, lr=2e-3, patience=1, seed=seed, device=device)
    tfm = LoopConfig(epochs=2, batch_size=256, lr=1e-3, patience=1, seed=seed, device=device)
    return TrainSettings(
        seq_len=16,
        n_folds=1,
        lstm_hidden=16,
        tf_d_model=16,
        tf_heads=2,
        tf_layers=1,
        tf_ff=32,
        lstm_loop=lstm,
        tf_loop=tfm,
        max_bars=15000,
        leakage_cuts=2,
        seed=seed,
        profile="quick",
    )


@attrs.frozen
class ModelScores:
    """One model's probabilities on one pair's validation and test samples."""

    val: np.ndarray
    test: np.ndarray


def _metrics(y: np.ndarray, p: np.ndarray, ts: np.ndarray, th: TierThresholds) -> dict[str, Any]:
    tiers = ev.tier_stats(y, p, th)
    return {
        "n": int(y.shape[0]),
        "accuracy": ev.accuracy(y, p),
        "auc": ev.roc_auc(y, p),
        "brier": ev.brier(y, p),
        "log_loss": ev.log_loss(y, p),
        "ece": ev.expected_calibration_error(y, p),
        "tiers": {
            t.tier.name: {
                "count": t.count,
                "precision": t.precision,
                "coverage": t.coverage,
                "recall": t.recall,
                "mean_confidence": t.mean_confidence,
            }
            for t in tiers
        },
        "by_session": {s.value: {"accuracy": a, "count": n} for s, (a, n) in ev.accuracy_by_session(y, p, ts).items()},
    }


@attrs.frozen
class TrainedArtifacts:
    """What the registry stores from the final fold."""

    lstm: dict[str, LSTMDirection]
    transformer: TrendTransformer
    standardisers: dict[str, Standardiser]
    calibration: dict[str, dict[str, CalibrationMap]]  # model -> pair -> map
    symbol_ids: dict[str, int]
    feature_names: tuple[str, ...]
    reference_sample: dict[str, list[list[float]]]  # pair -> raw training feature rows (drift reference)
    fits: dict[str, FitResult]


@attrs.frozen
class RunResult:
    report: dict[str, Any]
    artifacts: TrainedArtifacts


def _series_for(
    candles: Candles, params: FeatureParams, settings: TrainSettings, higher: Mapping[Timeframe, Candles] | None
) -> tuple[Candles, FeatureMatrix, PairSeries]:
    if settings.max_bars and len(candles) > settings.max_bars:
        candles = candles.tail(settings.max_bars)
    matrix = compute_features(candles, params, higher)
    # a feature undefined everywhere (mtf_convergence without higher timeframes) would void every sample
    keep = ~np.all(np.isnan(matrix.values), axis=0)
    if not keep.all():
        matrix = FeatureMatrix(
            matrix.pair,
            matrix.timeframe,
            matrix.version,
            matrix.ts,
            tuple(n for n, k in zip(matrix.names, keep, strict=True) if k),
            matrix.values[:, keep],
        )
    h = settings.horizon_bars(candles.timeframe)
    return candles, matrix, build_series(candles, matrix, settings.seq_len, h, params.atr_window)


def run_training(
    candles: Mapping[str, Candles],
    settings: TrainSettings,
    *,
    higher: Mapping[str, Mapping[Timeframe, Candles]] | None = None,
    cost_model: CostModel | None = None,
    checkpoint_dir: Path | None = None,
    resume: bool = False,
    progress: Any = None,
    log: Callable[[str], None] = lambda _m: None,
    augment: Augment | None = None,
    members: Members | None = None,
) -> RunResult:
    """`augment` is the plugin host's `augment_training_set` (composition hands it in): with
    `settings.synthetic_share > 0` it is asked for synthetic samples of each pair's training split.
    `members` adds the enabled plugins' members to the pipeline the gates run (None: no plugin)."""
    synthetic_target(1, settings.synthetic_share)  # refuse a share above the cap before any work
    torch.set_num_threads(max(1, settings.threads))
    torch.use_deterministic_algorithms(True, warn_only=True)
    costs = cost_model or DEFAULT_FIXED_COSTS
    pairs = list(candles)
    t_start = time.perf_counter()
    tf = next(iter(candles.values())).timeframe
    h = settings.horizon_bars(tf)
    data: dict[str, tuple[Candles, FeatureMatrix, PairSeries]] = {}
    for pair in pairs:
        data[pair] = _series_for(candles[pair], settings.feature_params, settings, (higher or {}).get(pair))
        log(
            f"{pair}: {len(data[pair][0])} bars, {int(data[pair][2].sample_ok.sum())} usable samples, "
            f"{len(data[pair][1].names)} features"
        )
    names = data[pairs[0]][1].names
    rng = np.random.default_rng(settings.seed)

    leak: dict[str, LeakageResult] = {}
    for pair in pairs:
        hp = (higher or {}).get(pair)
        leak[pair] = check_feature_causality(
            data[pair][0],
            functools.partial(compute_features, params=settings.feature_params, higher=hp),
            rng,
            cuts=settings.leakage_cuts,
            warmup=warmup_bars(settings.feature_params, tf),
        )

    folds = {
        p: walk_forward_folds(data[p][2], settings.n_folds, settings.val_frac, settings.test_frac, settings.seq_len, h)
        for p in pairs
    }
    sym_ids = {p: i for i, p in enumerate(pairs)}
    fold_reports: list[dict[str, Any]] = []
    artifacts: TrainedArtifacts | None = None
    for k in range(settings.n_folds):
        final = k == settings.n_folds - 1
        fold_report, arts = _run_fold(
            k,
            final,
            data,
            folds,
            sym_ids,
            names,
            settings,
            h,
            costs,
            leak,
            checkpoint_dir,
            resume,
            progress,
            log,
            augment,
            members,
        )
        fold_reports.append(fold_report)
        if final:
            artifacts = arts
    assert artifacts is not None
    report = {
        "profile": settings.profile,
        "timeframe": tf.value,
        "horizon_bars": h,
        "horizon_minutes": settings.horizon_minutes,
        "seq_len": settings.seq_len,
        "pairs": pairs,
        "feature_names": list(names),
        "feature_params_key": settings.feature_params.key(),
        "higher_timeframes": list(settings.feature_params.higher_timeframes),
        "cost_model": {"kind": getattr(costs, "kind", "?"), "description": _cost_text(costs)},
        "thresholds": attrs.asdict(settings.thresholds),
        "gate_config": {k: (v.name if hasattr(v, "name") else v) for k, v in attrs.asdict(settings.gates).items()},
        "leakage": {p: attrs.asdict(r) for p, r in leak.items()},
        # synthetic (GAN) samples: training splits only; every metric below is on real candles
        "synthetic": {
            "share": settings.synthetic_share,
            "rows": {str(f["fold"]): f["synthetic_rows"] for f in fold_reports},
            "total": sum(sum(f["synthetic_rows"].values()) for f in fold_reports),
        },
        "folds": fold_reports,
        "final": fold_reports[-1],
        "seconds": time.perf_counter() - t_start,
        "torch_threads": torch.get_num_threads(),
    }
    return RunResult(report, artifacts)


def _cost_text(costs: CostModel) -> str:
    if costs is DEFAULT_FIXED_COSTS:
        return (
            "FIXED default, not measured: 6 bps spread + 2 x 2 bps slippage = 10 bps round trip "
            "(training.pipeline.DEFAULT_FIXED_COSTS; no execution metrics were available)"
        )
    return str(getattr(costs, "description", type(costs).__name__))


def _ts_range(series: PairSeries, ends: np.ndarray) -> list[int]:
    return [int(series.ts[ends[0]]), int(series.ts[ends[-1]])] if ends.size else [0, 0]


def _run_fold(
    k: int,
    final: bool,
    data: dict[str, tuple[Candles, FeatureMatrix, PairSeries]],
    folds: dict[str, list[Any]],
    sym_ids: dict[str, int],
    names: tuple[str, ...],
    settings: TrainSettings,
    h: int,
    costs: CostModel,
    leak: dict[str, LeakageResult],
    checkpoint_dir: Path | None,
    resume: bool,
    progress: Any,
    log: Callable[[str], None],
    augment: Augment | None = None,
    members: Members | None = None,
) -> tuple[dict[str, Any], TrainedArtifacts | None]:
    pairs = list(data)
    th = settings.thresholds
    L = settings.seq_len
    sets: dict[str, dict[str, WindowSet]] = {}
    stds: dict[str, Standardiser] = {}
    refs: dict[str, list[list[float]]] = {}
    xs: dict[str, np.ndarray] = {}
    split_info: dict[str, Any] = {}
    for p in pairs:
        _, m, s = data[p]
        f = folds[p][k]
        mask = np.zeros(len(m), dtype=bool)
        mask[rows_used(f.train, L)] = True
        stds[p] = Standardiser.fit(m.values, mask, names)
        x = np.nan_to_num(stds[p].apply(m.values), nan=0.0).astype(np.float32)
        xs[p] = x
        sets[p] = {
            name: window_set([(x, s, ends, sym_ids[p])], L)
            for name, ends in (("train", f.train), ("val", f.val), ("test", f.test))
        }
        pick = np.random.default_rng([settings.seed, k, sym_ids[p]]).choice(
            f.train, size=min(500, f.train.size), replace=False
        )
        refs[p] = m.values[np.sort(pick)].tolist()
        split_info[p] = {
            "train": {"n": int(f.train.size), "up_share": class_balance(s, f.train), "range": _ts_range(s, f.train)},
            "val": {"n": int(f.val.size), "up_share": class_balance(s, f.val), "range": _ts_range(s, f.val)},
            "test": {"n": int(f.test.size), "up_share": class_balance(s, f.test), "range": _ts_range(s, f.test)},
            "embargo_bars": f.embargo_bars,
        }
        log(
            f"fold {k} {p}: train {f.train.size} val {f.val.size} test {f.test.size} samples, up share train "
            f"{class_balance(s, f.train):.3f} val {class_balance(s, f.val):.3f} test {class_balance(s, f.test):.3f}"
        )

    synth = _synthetic_sets(k, data, folds, sets, stds, sym_ids, names, settings, h, augment, log)
    for p in pairs:
        split_info[p]["train"]["synthetic"] = len(synth[p]) if p in synth else 0

    scores: dict[str, dict[str, ModelScores]] = {p: {} for p in pairs}
    # ---- baselines, same samples, same features (the last bar of each window)
    for p in pairs:
        tr, va, te = sets[p]["train"], sets[p]["val"], sets[p]["test"]
        s = data[p][2]
        f = folds[p][k]
        mv, mt = bl.majority(tr, va, te)
        scores[p]["majority"] = ModelScores(mv, mt)
        pv, pt = bl.persistence(tr, s.last_return[f.train], (va, s.last_return[f.val]), (te, s.last_return[f.test]))
        scores[p]["persistence"] = ModelScores(pv, pt)
        lv, lt = bl.logistic(tr, va, te, seed=settings.seed)
        scores[p]["logistic"] = ModelScores(lv, lt)
        gv, gt = bl.lightgbm(tr, va, te, seed=settings.seed, threads=settings.threads)
        scores[p]["lightgbm"] = ModelScores(gv, gt)

    fits: dict[str, FitResult] = {}
    # ---- LSTM per coin
    lstms: dict[str, LSTMDirection] = {}
    for p in pairs:
        torch.manual_seed(settings.seed)
        net = LSTMDirection(len(names), settings.lstm_hidden, settings.lstm_layers, settings.dropout)
        ck = checkpoint_dir / f"fold{k}_lstm_{p.split('/')[0].lower()}.ckpt" if checkpoint_dir else None
        train_p = concat_sets([sets[p]["train"], synth[p]], [False, True]) if p in synth else sets[p]["train"]
        fits[f"lstm:{p}"] = fit(
            net, train_p, sets[p]["val"], settings.lstm_loop, ck, resume, label=f"fold{k} lstm {p}", progress=progress
        )
        net.cpu()
        lstms[p] = net
        scores[p]["lstm"] = ModelScores(
            predict(net, sets[p]["val"])["prob_up"], predict(net, sets[p]["test"])["prob_up"]
        )
        log(
            f"fold {k} lstm {p}: best epoch {fits[f'lstm:{p}'].best_epoch + 1}, val loss "
            f"{fits[f'lstm:{p}'].best_val_loss:.4f}"
        )

    # ---- Transformer across coins (symbol embedding)
    torch.manual_seed(settings.seed)
    tnet = TrendTransformer(
        len(names),
        len(pairs),
        L,
        settings.tf_d_model,
        settings.tf_heads,
        settings.tf_layers,
        settings.tf_ff,
        settings.dropout,
    )
    pooled = {
        name: window_set([(xs[p], data[p][2], getattr(folds[p][k], name), sym_ids[p]) for p in pairs], L)
        for name in ("train", "val", "test")
    }
    if synth:  # synthetic samples join the training split only, never val/test
        pooled["train"] = concat_sets([pooled["train"], *synth.values()], [False] + [True] * len(synth))
    ck = checkpoint_dir / f"fold{k}_transformer.ckpt" if checkpoint_dir else None
    fits["transformer"] = fit(
        tnet,
        pooled["train"],
        pooled["val"],
        settings.tf_loop,
        ck,
        resume,
        label=f"fold{k} transformer",
        progress=progress,
    )
    tnet.cpu()
    trend_corr: dict[str, float] = {}
    for p in pairs:
        out_v, out_t = predict(tnet, sets[p]["val"]), predict(tnet, sets[p]["test"])
        scores[p]["transformer"] = ModelScores(out_v["prob_up"], out_t["prob_up"])
        yt = sets[p]["test"].trend
        trend_corr[p] = float(np.corrcoef(out_t["trend"], yt)[0, 1]) if yt.size > 2 else float("nan")
    log(
        f"fold {k} transformer: best epoch {fits['transformer'].best_epoch + 1}, val loss "
        f"{fits['transformer'].best_val_loss:.4f}"
    )

    # ---- ensemble (the runtime's weighted mean of the raw network probabilities)
    w = dict(settings.ensemble_weights)
    for p in pairs:
        tot = w["lstm"] + w["transformer"]
        scores[p]["ensemble"] = ModelScores(
            (w["lstm"] * scores[p]["lstm"].val + w["transformer"] * scores[p]["transformer"].val) / tot,
            (w["lstm"] * scores[p]["lstm"].test + w["transformer"] * scores[p]["transformer"].test) / tot,
        )

    # ---- calibration on validation, metrics
    per_pair: dict[str, Any] = {}
    calib: dict[str, dict[str, CalibrationMap]] = {"lstm": {}, "transformer": {}, "ensemble": {}}
    for p in pairs:
        s = data[p][2]
        f = folds[p][k]
        yv, yte = s.direction[f.val], s.direction[f.test]
        tsv, tst = s.ts[f.val], s.ts[f.test]
        models: dict[str, Any] = {}
        for name, sc in scores[p].items():
            entry: dict[str, Any] = {"val": _metrics(yv, sc.val, tsv, th), "test": _metrics(yte, sc.test, tst, th)}
            if name in GRADED:
                kind, cv_scores = choose(sc.val, yv)
                cmap = fit_calibrators(sc.val, yv)[kind]
                calib[name][p] = cmap
                pv_c, pt_c = cmap.apply_batch(sc.val), cmap.apply_batch(sc.test)
                entry["calibration"] = {"kind": kind, "map": calibration_to_dict(cmap), "crossfit_log_loss": cv_scores}
                entry["val_calibrated"] = _metrics(yv, pv_c, tsv, th)
                entry["test_calibrated"] = _metrics(yte, pt_c, tst, th)
                curve = ev.reliability_curve(yte, pt_c, 10)
                entry["reliability_test"] = {
                    "mean_predicted": curve.mean_predicted.tolist(),
                    "observed": curve.observed.tolist(),
                    "counts": curve.counts.tolist(),
                }
            models[name] = entry
        per_pair[p] = {"split": split_info[p], "models": models, "transformer_trend_corr_test": trend_corr[p]}

    # ---- gates: the product's own pipeline on each test block, grading the signals it emits
    common = common_meta(L, h, data[pairs[0]][0].timeframe.value, names, settings.feature_params, th)
    predictors = predictors_from(bundle_roles(lstms, tnet, stds, calib, sym_ids, refs, common), f"fold{k}")
    min_bars = RuntimeFeatures(settings.feature_params, data[pairs[0]][0].timeframe, L).min_bars
    blocks = {p: split_block(data[p][0], split_info[p]["test"]["range"]) for p in pairs if folds[p][k].test.size}
    probs = {p: block_probs(predictors, b.history, b.first_ms, min_bars) for p, b in blocks.items()}
    for name in GRADED:
        emitted = _emitted(
            settings, blocks, {p: {m: probs[p][m] for m in MEMBERS[name]} for p in blocks}, min_bars, costs, members
        )
        for p in pairs:
            s, f = data[p][2], folds[p][k]
            entry = per_pair[p]["models"][name]
            base = {b: ev.accuracy(s.direction[f.val], scores[p][b].val) for b in bl.BASELINES}
            entry["gates"] = _gates(settings, emitted.get(p), h, entry, base, leak[p], tests=len(GRADED) * len(pairs))
            entry["gates_passed"] = all_passed([GateResult(**g) for g in entry["gates"]])
    fold_report = {
        "fold": k,
        "pairs": per_pair,
        "synthetic_rows": {p: len(synth[p]) if p in synth else 0 for p in pairs},
        "fits": {
            n: {
                "best_epoch": r.best_epoch,
                "best_val_loss": r.best_val_loss,
                "device": r.device,
                "amp": r.amp_dtype,
                "resumed_from": r.resumed_from,
                "history": [attrs.asdict(e) for e in r.history],
            }
            for n, r in fits.items()
        },
    }
    arts = TrainedArtifacts(lstms, tnet, stds, calib, sym_ids, names, refs, fits) if final else None
    return fold_report, arts


def _sample_maker(
    names: tuple[str, ...], std: Standardiser, settings: TrainSettings, h: int, sym: int
) -> Callable[[Candles], WindowSet]:
    """Candles -> samples exactly as a real pair's: the same features, columns, labels and the fold's
    training standardiser (used on synthetic candles from an augmentation plugin)."""

    def make(c: Candles) -> WindowSet:
        m = compute_features(c, settings.feature_params, None)
        idx = [m.names.index(n) for n in names]
        m = FeatureMatrix(m.pair, m.timeframe, m.version, m.ts, names, m.values[:, idx])
        s = build_series(c, m, settings.seq_len, h, settings.feature_params.atr_window)
        x = np.nan_to_num(std.apply(m.values), nan=0.0).astype(np.float32)
        return window_set([(x, s, np.flatnonzero(s.sample_ok).astype(np.int64), sym)], settings.seq_len)

    return make


def _synthetic_sets(
    k: int,
    data: dict[str, tuple[Candles, FeatureMatrix, PairSeries]],
    folds: dict[str, list[Any]],
    sets: dict[str, dict[str, WindowSet]],
    stds: dict[str, Standardiser],
    sym_ids: dict[str, int],
    names: tuple[str, ...],
    settings: TrainSettings,
    h: int,
    augment: Augment | None,
    log: Callable[[str], None],
) -> dict[str, WindowSet]:
    """Each pair's synthetic training samples (capped to the share), from the fold's training bars only."""
    from ports.augmentation import AugmentRequest

    out: dict[str, WindowSet] = {}
    if augment is None or settings.synthetic_share <= 0:
        return out
    for p in data:
        candles, _, s = data[p]
        f = folds[p][k]
        target = synthetic_target(len(sets[p]["train"]), settings.synthetic_share)
        if target == 0 or f.train.size == 0:
            continue
        # the training block's bars: up to the last training label, strictly before validation's embargo
        train_bars = candles.slice_until(int(s.ts[f.train[-1] + h]))
        req = AugmentRequest(
            p, train_bars, target, settings.seq_len, h, _sample_maker(names, stds[p], settings, h, sym_ids[p]), fold=k
        )
        got = [
            part
            for res in augment("lstm", req, s.direction[f.train], settings.seed + 1009 * k + sym_ids[p])
            for part in res[0]
        ]
        if not got:
            continue
        pool = concat_sets(got, [True] * len(got))
        pick = np.random.default_rng([settings.seed, k, sym_ids[p], 17]).choice(
            len(pool), size=min(target, len(pool)), replace=False
        )
        out[p] = take(pool, np.sort(pick).astype(np.int64))
        n_syn = len(out[p])
        log(
            f"fold {k} {p}: {n_syn} synthetic training samples ({n_syn / (n_syn + len(sets[p]['train'])):.1%} of "
            "the training split; validation and test stay real)"
        )
    return out


GRADED = ("lstm", "transformer", "ensemble")
# the members the product runs for each graded model (the ensemble: both, with the kernel's weights)
MEMBERS = {"lstm": ("lstm",), "transformer": ("transformer",), "ensemble": ("lstm", "transformer")}


@attrs.frozen(eq=False)
class SplitBlock:
    """One pair's test split as `trading-ai backtest --block test` runs it: the bars from the first to
    the last test sample, and the history the predictions of those bars may use."""

    bars: Candles
    history: Candles
    first_ms: int


def split_block(candles: Candles, test_range: Sequence[int]) -> SplitBlock:
    """`test_range` = [first, last] test sample open times (the report's split range)."""
    first, last = int(test_range[0]), int(test_range[1])
    end = last + candles.timeframe.ms  # exclusive
    return SplitBlock(candles.between(first, end), candles.between(None, end), first)


@attrs.frozen(eq=False)
class Emitted:
    """One pair's share of a run of the pipeline over the test blocks: its bars, the signals emitted
    on them and the blocks (the engine's columns), and the trades the signals became."""

    bars: Candles
    signals: Mapping[str, np.ndarray]
    blocks: Mapping[str, np.ndarray]
    trades: TradeSample


def _emitted(
    settings: TrainSettings,
    blocks: Mapping[str, SplitBlock],
    probs: Mapping[str, Mapping[str, np.ndarray]],
    min_bars: int,
    costs: CostModel,
    members: Members | None = None,
) -> dict[str, Emitted]:
    """The model's calibrated probabilities through the backtest's pipeline over every pair's test
    block on one account, as `trading-ai backtest --block test` runs them (domain.backtest.engine on
    the kernel settings: ensemble weights, boosters, bias, tiers, hysteresis, policy, FTMO, position
    limits, sizing, guard, the cost model with both commissions, the run's seed), with the enabled
    plugins' members where `members` adds them, as the backtest does."""
    from domain.backtest.engine import EngineConfig, PairData
    from domain.trading import SymbolSpec
    from services.backtest import run_batch, trade_sample

    kernel = settings.kernel or KernelSettings()
    pairs = [p for p, b in blocks.items() if len(b.bars) >= 2]
    if not pairs:
        return {}
    specs = [SymbolSpec(p, p.replace("/USDT", "USD"), margin_rate=settings.margin_rate) for p in pairs]
    names = tuple(probs[pairs[0]])
    data = [PairData(p, blocks[p].bars, dict(probs[p]), sp) for p, sp in zip(pairs, specs, strict=True)]
    cfg = EngineConfig.from_settings(kernel, names, min_bars)
    if members is not None:
        data, cfg = members(data, cfg, names)
    res = run_batch(data, cfg, costs, kernel.seed)  # the backtest's seed: the config's
    out = {}
    for r, (p, sp) in enumerate(zip(pairs, specs, strict=True)):
        sig, blk = np.asarray(res.signals["pair"]) == r, np.asarray(res.blocks["pair"]) == r
        out[p] = Emitted(
            blocks[p].bars,
            {c: np.asarray(v)[sig] for c, v in res.signals.items()},
            {c: np.asarray(v)[blk] for c, v in res.blocks.items()},
            trade_sample(res, sp, r),
        )
    return out


def _gates(
    settings: TrainSettings,
    emitted: Emitted | None,
    h: int,
    entry: dict[str, Any],
    base: Mapping[str, float],
    leak: LeakageResult,
    tests: int,
) -> list[dict[str, Any]]:
    """The promotion gates of one model on one pair, graded on the signals the product emitted on the
    pair's test block (`_emitted`): precision and coverage of those signals, the calibration of their
    stated confidence per tier, and the expectancy of the trades they became."""
    gcfg = settings.gates
    kernel = settings.kernel or KernelSettings()
    if emitted is not None:
        bars, sig, bps, mcost = emitted.bars, emitted.signals, emitted.trades.bps, emitted.trades.cost
    else:
        bars = None
        sig = {c: np.zeros(0, dtype=np.int64) for c in ("bar", "sign", "tier")} | {"confidence": np.zeros(0)}
        bps = mcost = np.zeros(0)
    # did the price rise over the model's horizon after each signal's bar (NaN past the block's data)?
    i = np.asarray(sig["bar"], dtype=np.int64)
    up = np.full(i.shape[0], np.nan)
    if bars is not None:
        inside = i + h < len(bars)
        up[inside] = (bars.close[i[inside] + h] > bars.close[i[inside]]).astype(np.float64)
    samples = int(entry["test"]["n"])  # the test samples: coverage is emitted signals over these
    g = ev.grade_signals(sig["sign"], sig["tier"], sig["confidence"], up, samples, gcfg.emit_min_tier)
    mae = ev.tier_mae(g.tiers, gcfg.tier_min_count)
    cost = float(mcost.mean()) + 2 * kernel.fee_bps if bps.size else float("nan")
    exp = ev.trade_expectancy(bps, cost)
    best = max(base, key=lambda b: base[b])
    res_g = evaluate_gates(
        gcfg,
        emitted_precision=g.emitted.precision,
        emitted_count=g.emitted.count,
        emitted_coverage=g.emitted.coverage,
        tier_mae=mae,
        leakage_ok=leak.ok,
        leakage_detail=leak.detail,
        val_accuracy=entry["val"]["accuracy"],
        best_baseline=best,
        best_baseline_val_accuracy=base[best],
        net_bps=exp.net_bps,
        ci_low_bps=exp.ci_low_bps,
        ci_high_bps=exp.ci_high_bps,
        cost_bps=exp.cost_bps,
        test_accuracy=entry["test"]["accuracy"],
    )
    entry["signals_graded"] = int(g.emitted.count)  # the signals the pipeline emitted on the test block
    entry["emitted_test"] = {
        "signals": int(g.emitted.count),
        "labelled": g.labelled,
        "precision": g.emitted.precision,
        "coverage": g.emitted.coverage,
        "mean_confidence": g.emitted.mean_confidence,
        "tiers": {t.tier.name: attrs.asdict(t) | {"tier": t.tier.name} for t in g.tiers[1:]},
        "block": [int(bars.ts[0]), int(bars.ts[-1])] if bars is not None else None,
    }
    entry["expectancy_test"] = attrs.asdict(exp)
    return [attrs.asdict(r) for r in res_g] + [attrs.asdict(trade_gate(gcfg, bps, tests))]


def finite_or_none(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else x


def training_bars(candles: Candles, settings: TrainSettings, fold: int = -1) -> Candles:
    """The bars of one walk-forward fold's training block (default: the final fold), as `run_training`
    splits them: what an augmentation plugin may learn from (used by `trading-ai gan report`)."""
    c, _, s = _series_for(candles, settings.feature_params, settings, None)
    h = settings.horizon_bars(c.timeframe)
    f = walk_forward_folds(s, settings.n_folds, settings.val_frac, settings.test_frac, settings.seq_len, h)[fold]
    return c.slice_until(int(s.ts[f.train[-1] + h]))


def pairs_of(symbols: Sequence[str]) -> list[str]:
    """BTC -> BTC/USDT; BTC/USDT stays."""
    return [s.strip().upper() if "/" in s else f"{s.strip().upper()}/USDT" for s in symbols if s.strip()]
