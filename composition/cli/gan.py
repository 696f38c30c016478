"""`trading-ai gan report` and `trading-ai gan ablation [--quick]`: the GAN augmentation plugin on the
real candles.

`report` fits the generator on each pair's final-fold training bars (nothing from validation or
test), grades it with `plugins.gan.quality` against those real returns and saves the generator and
the report beside it (`<models_dir>/gan/`). `ablation` runs the product's walk-forward training
(`training.pipeline.run_training`, the same gates and evaluation) with 0 %, 10 % and 20 % synthetic
training samples through the plugin host's `augment_training_set`, scores every run on the real
test splits only, and writes `<models_dir>/gan_ablation.md` with a plain verdict. The plugin stays
disabled (`[gan] enabled = false`) unless the verdict is "helps".
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from composition.cli.context import Context
from composition.training_inputs import (
    augment_with,
    cost_model_for,
    gan_plugin_settings,
    load_candles,
    plugin_members,
    train_settings,
)
from domain.errors import UserError

SHARES = (0.0, 0.10, 0.20)


def register(sub: Any) -> None:
    p = sub.add_parser("gan", help="the GAN augmentation plugin: quality report and 0/10/20 %% ablation")
    gs = p.add_subparsers(dest="gan_command", metavar="SUBCOMMAND")
    for name, help_ in (
        ("report", "fit the generator on the training bars, grade it, save both"),
        ("ablation", "walk-forward training with 0/10/20 %% synthetic rows, real test data only"),
    ):
        c = gs.add_parser(name, help=help_)
        c.add_argument("--symbols", help="comma-separated coins or pairs (default: config data.symbols)")
        c.add_argument("--timeframe", help="base timeframe (default: config data.timeframe)")
        c.add_argument(
            "--quick",
            action="store_true",
            help="tiny GAN, few steps, the quick training profile (a few minutes): the mechanics",
        )
        c.set_defaults(handler=handle_report if name == "report" else handle_ablation)
    p.set_defaults(handler=lambda args, ctx: _usage())


def _usage() -> int:
    raise UserError("gan needs a subcommand: report or ablation (see trading-ai gan --help)")


def _host(augmenter: Any) -> Any:
    from plugins import hookimpl
    from plugins.manager import PluginHost

    class Forced:  # the ablation measures the generator whatever its quality verdict (reported beside it)
        @hookimpl
        def trading_ai_augment_training_set(self, name: str, features: Any, labels: Any, seed: int) -> Any:
            return augmenter.augment(features, seed)

    return PluginHost.discover(entry_points=[], extra={"gan": Forced()})


class _Bar:
    """One rich progress bar per generator being trained (stderr)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=Console(stderr=True)
        )
        self.tasks: dict[str, Any] = {}

    def __call__(self, label: str, step: int, total: int) -> None:
        if label not in self.tasks:
            self.progress.start()
            self.tasks[label] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[label], completed=step)
        if step >= total:
            self.progress.stop()


def _checks_table(checks: list[Any]) -> list[str]:
    lines = ["| check | value | limit | pass | detail |", "|---|---|---|---|---|"]
    lines += [
        f"| {c.name} | {c.value:.4g} | {c.limit:.4g} | {'PASS' if c.passed else 'FAIL'} | "
        f"{c.detail.replace('|', '/')} |"
        for c in checks
    ]
    return lines


def handle_report(args: argparse.Namespace, ctx: Context) -> int:
    import torch

    from plugins.gan.augment import GanAugmenter
    from ports.augmentation import AugmentRequest
    from training.pipeline import training_bars

    torch.set_num_threads(1)
    candles, tf = load_candles(ctx.config, args.symbols, args.timeframe)
    settings = train_settings(ctx.config, args.quick)
    plugin = gan_plugin_settings(ctx.config, args.quick)
    aug = GanAugmenter(progress=_Bar())
    out = Path(ctx.config.training.models_dir) / "gan"
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        f"# GAN quality report ({tf.value}, {'quick' if args.quick else 'default'} settings, seed {ctx.config.seed})",
        "",
        "Against each pair's final-fold training bars (real candles); synthetic paths from the generator.",
        "",
    ]
    ok_all = True
    for pair, c in candles.items():
        bars = training_bars(c, settings)
        t0 = time.perf_counter()
        req = AugmentRequest(pair, bars, 0, settings.seq_len, 1, lambda _c: [], settings=plugin)
        fit = aug.fitted(req, ctx.config.seed)
        stem = pair.replace("/", "_")
        torch.save(fit.gan.generator.state_dict(), out / f"{stem}.pt")
        ok_all &= fit.passed
        lines += [
            f"## {pair}: {'PASS' if fit.passed else 'FAIL'} ({len(bars)} training bars, "
            f"{time.perf_counter() - t0:.0f} s)",
            "",
            *_checks_table(fit.checks),
            "",
        ]
        (out / f"{stem}_report.json").write_text(
            json.dumps(
                {
                    "pair": pair,
                    "passed": fit.passed,
                    "bars": len(bars),
                    "checks": [attrs.asdict(x) for x in fit.checks],
                },
                indent=1,
            ),
            encoding="utf-8",
        )
    text = "\n".join(lines) + "\n"
    (out / "report.md").write_text(text, encoding="utf-8")
    print(text)
    print(f"RESULT gan quality={'PASS' if ok_all else 'FAIL'} report={out / 'report.md'}")
    return 0 if ok_all else 1


def _score(report: dict[str, Any]) -> dict[str, float]:
    """Mean over pairs and folds of the ensemble's calibrated test figures (real test bars only)."""
    acc, auc, prec, net = [], [], [], []
    for fold in report["folds"]:
        for d in fold["pairs"].values():
            e = d["models"]["ensemble"]
            acc.append(e["test_calibrated"]["accuracy"])
            auc.append(e["test_calibrated"]["auc"])
            prec.append(next((g["value"] for g in e["gates"] if g["name"] == "precision"), float("nan")))
            net.append(e.get("expectancy_test", {}).get("net_bps", float("nan")))

    def m(xs: list[Any]) -> float:
        v = [float(x) for x in xs if x is not None and not (isinstance(x, float) and math.isnan(x))]
        return float(np.mean(v)) if v else float("nan")

    return {
        "accuracy": m(acc),
        "auc": m(auc),
        "tier_precision": m(prec),
        "net_bps": m(net),
        "synthetic_rows": float(report["synthetic"]["total"]),
    }


def handle_ablation(args: argparse.Namespace, ctx: Context) -> int:
    import torch
    from rich.console import Console

    from plugins.gan.augment import GanAugmenter
    from training.pipeline import run_training

    torch.set_num_threads(1)
    console = Console(stderr=True)
    candles, tf = load_candles(ctx.config, args.symbols, args.timeframe)
    settings = train_settings(ctx.config, args.quick)
    costs = cost_model_for(ctx.config, "auto", None, None, console)
    plugin = gan_plugin_settings(ctx.config, args.quick)
    aug = GanAugmenter(force=True, progress=_Bar())
    augment = augment_with(_host(aug), plugin)
    rows: dict[float, dict[str, float]] = {}
    t0 = time.perf_counter()
    for share in SHARES:
        console.print(f"[bold]gan ablation: walk-forward training with {share:.0%} synthetic training samples[/bold]")
        s = attrs.evolve(settings, synthetic_share=share)
        rep = run_training(
            candles,
            s,
            cost_model=costs,
            augment=augment if share > 0 else None,
            log=lambda msg: console.print(f"[dim]{msg}[/dim]"),
            members=plugin_members(ctx.config, ctx.log),  # the gates grade the product's pipeline, plugins as enabled
        ).report
        rows[share] = _score(rep)
    quality = {k[0]: f for k, f in aug.cache.items()}
    quality_ok = bool(quality) and all(f.passed for f in quality.values())
    per_pair = ", ".join(
        f"{p} " + ("PASS" if f.passed else "FAIL: " + ",".join(c.name for c in f.checks if not c.passed))
        for p, f in quality.items()
    )
    base = rows[0.0]
    better = [sh for sh in SHARES[1:] if rows[sh]["auc"] > base["auc"] and rows[sh]["net_bps"] > base["net_bps"]]
    best = max(better, key=lambda sh: rows[sh]["auc"]) if better else 0.0
    helps = quality_ok and bool(better)
    verdict = "helps" if helps else "no_help"
    lines = [
        f"# GAN ablation ({tf.value}, {settings.profile} profile, {len(candles)} pairs, seed {ctx.config.seed})",
        "",
        "The same walk-forward training (training.pipeline.run_training, the product's gates and evaluation) "
        "with 0 %, 10 % and 20 % synthetic training samples; every figure is the ensemble's calibrated score "
        "on the REAL test splits (mean over pairs and folds). Synthetic samples never enter validation or test.",
        "",
        "| synthetic share | synthetic rows | accuracy | AUC | tier precision | expectancy net bps |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {sh:.0%} | {int(r['synthetic_rows'])} | {r['accuracy']:.4f} | {r['auc']:.4f} | "
        f"{r['tier_precision']:.4f} | {r['net_bps']:.2f} |"
        for sh, r in rows.items()
    ]
    lines += [
        "",
        f"Generator quality on the training bars: {'PASS' if quality_ok else 'FAIL'} ({per_pair})",
        "",
        f"**Verdict: {'helps' if helps else 'does not help'}.** "
        + (
            "Enable with `GAN_ENABLED=true` and `GAN_SHARE=" + f"{best:.2f}`."
            if helps
            else "The plugin stays disabled (`[gan] enabled = false`)"
            + (
                ": the generator failed its quality checks, so it would not be used anyway."
                if not quality_ok
                else ": no synthetic share beat 0 % on both AUC and expectancy."
            )
        ),
    ]
    text = "\n".join(lines) + "\n"
    path = Path(ctx.config.training.models_dir) / "gan_ablation.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    (path.with_suffix(".json")).write_text(
        json.dumps(
            {
                "rows": {str(k): v for k, v in rows.items()},
                "quality_passed": quality_ok,
                "verdict": verdict,
                "best_share": best,
            },
            indent=1,
        ),
        encoding="utf-8",
    )
    print(text)
    print(f"ablation took {time.perf_counter() - t0:.0f} s; written to {path}")
    print(f"RESULT gan quality={'PASS' if quality_ok else 'FAIL'} ablation={verdict} best_share={best * 100:.0f}")
    return 0
