"""The RL gate: the agent joins the ensemble only if it is stable and the ensemble with it beats the
supervised ensemble alone out of sample by >= 2 percentage points of net return (median over seeds)
without lower precision. Pure: figures in, verdict out; the CLI runs the backtests that make them.

Per seed, from the fold's TEST split, same bars, same costs, same backtest:
- `supervised`: net return % and precision (hit rate of the trades) of the supervised ensemble alone;
- `with_rl`: the same with the RL member in the ensemble (the plan's 30/35/25 weights, renormalised
  over the models present);
- stability: the last k validation rewards of the seed's training curve lie within a spread, and no
  single chosen action exceeds `max_action_share` of the seed's test steps.
PASS needs every one of: >= min_seeds seeds, median improvement >= min_improvement_pp, median
precision with RL >= supervised precision, and every seed stable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np

from plugins.rl.agent import GateThresholds


@attrs.frozen
class SeedFigures:
    seed: int
    supervised_return_pct: float
    supervised_precision: float  # NaN when no trade
    supervised_trades: int
    rl_return_pct: float
    rl_precision: float
    rl_trades: int
    val_rewards: tuple[float, ...]  # the training curve's validation returns (%), in order
    chosen_share: dict[str, float]
    rl_alone_test_return_pct: float  # the agent trading on its own in the environment (reported only)

    @property
    def improvement_pp(self) -> float:
        return self.rl_return_pct - self.supervised_return_pct


@attrs.frozen
class Verdict:
    passed: bool
    improvement_pp: float  # median over seeds
    improvement_spread: tuple[float, float]  # min, max over seeds
    precision_with_rl: float  # median
    precision_supervised: float
    stable: bool
    seeds: int
    reasons: tuple[str, ...]  # why it failed (empty on PASS)
    per_seed: tuple[dict[str, Any], ...]

    def result_line(self) -> str:
        return (
            f"RESULT rl_gate={'PASS' if self.passed else 'FAIL'} oos_improvement_pct={self.improvement_pp:.4f} "
            f"seeds={self.seeds} stable={str(self.stable).lower()}"
        )


def curve_stable(val_rewards: Sequence[float], k: int, max_spread: float) -> tuple[bool, float]:
    """(stable, spread): the last k validation rewards within `max_spread`; fewer than k points is unstable."""
    last = [v for v in val_rewards[-k:] if math.isfinite(v)]
    if len(last) < k:
        return False, float("nan")
    spread = float(max(last) - min(last))
    return spread <= max_spread, spread


def _median(xs: Sequence[float]) -> float:
    v = [x for x in xs if math.isfinite(x)]
    return float(np.median(v)) if v else float("nan")


def evaluate(figures: Sequence[SeedFigures], th: GateThresholds) -> Verdict:
    reasons: list[str] = []
    per: list[dict[str, Any]] = []
    all_stable = bool(figures)
    for f in figures:
        ok_curve, spread = curve_stable(f.val_rewards, th.stability_last_k, th.stability_max_spread_pp)
        top_action, top_share = max(f.chosen_share.items(), key=lambda kv: kv[1]) if f.chosen_share else ("-", 1.0)
        ok_actions = top_share <= th.max_action_share
        stable = ok_curve and ok_actions
        all_stable &= stable
        per.append(
            {
                **attrs.asdict(f),
                "improvement_pp": f.improvement_pp,
                "curve_spread_pp": spread,
                "curve_stable": ok_curve,
                "top_action": top_action,
                "top_action_share": top_share,
                "actions_ok": ok_actions,
                "stable": stable,
            }
        )
        if not ok_curve:
            reasons.append(
                f"seed {f.seed}: last {th.stability_last_k} validation rewards spread "
                f"{spread:.3f} pp > {th.stability_max_spread_pp} pp (or too few points)"
            )
        if not ok_actions:
            reasons.append(
                f"seed {f.seed}: action '{top_action}' chosen on {100 * top_share:.1f}% of test steps "
                f"> {100 * th.max_action_share:.0f}%"
            )
    imp = [f.improvement_pp for f in figures]
    med = _median(imp)
    spread_mm = (float(np.min(imp)), float(np.max(imp))) if imp else (float("nan"), float("nan"))
    p_rl = _median([f.rl_precision for f in figures])
    p_sup = _median([f.supervised_precision for f in figures])
    if len(figures) < th.min_seeds:
        reasons.append(f"{len(figures)} seeds < {th.min_seeds} required")
    if not (math.isfinite(med) and med >= th.min_improvement_pp):
        reasons.append(
            f"median OOS net-return improvement {med:+.3f} pp < {th.min_improvement_pp} pp "
            f"(seeds from {spread_mm[0]:+.3f} to {spread_mm[1]:+.3f} pp)"
        )
    # precision not lower: undefined (no trade) with RL fails; undefined without RL only needs RL trades
    prec_ok = math.isfinite(p_rl) and (not math.isfinite(p_sup) or p_rl >= p_sup)
    if not prec_ok:
        reasons.append(
            "no trade with the RL member: precision undefined"
            if not math.isfinite(p_rl)
            else f"precision with RL {p_rl:.4f} below the supervised ensemble's {p_sup:.4f}"
        )
    passed = not reasons
    return Verdict(passed, med, spread_mm, p_rl, p_sup, all_stable, len(figures), tuple(reasons), tuple(per))
