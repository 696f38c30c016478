"""What `trading-ai tune` reports: the best trials (the Pareto front of expectancy and pass rate),
optuna's parameter importances, the overfitting check (domain.overfitting: the deflated Sharpe ratio
of the chosen trial's daily returns among all trials, and the PBO from CSCV over the trials' daily
returns), and the final test block, scored once for the chosen trial and kept in the study."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from domain.overfitting import deflated_sharpe_ratio, pbo_cscv, sharpe

if TYPE_CHECKING:
    from composition.tuning.objective import TuneData

PBO_BLOCKS = 8


def complete(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    from optuna.trial import TrialState

    return study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))


def best_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """The Pareto front, highest expectancy first (ties: higher pass rate, then lower number)."""
    if not complete(study):
        return []
    return sorted(study.best_trials, key=lambda t: (-t.values[0], -t.values[1], t.number))


def _negated(k: int) -> Callable[[optuna.trial.FrozenTrial], float]:
    return lambda t: -float(t.values[k])


def importances(study: optuna.Study) -> dict[str, dict[str, float]] | str:
    """optuna's importances per objective (PED-ANOVA, optuna's default evaluator, which ranks what makes
    a target LOW: the objectives are negated since both are maximised), or why there are none."""
    import warnings

    out: dict[str, dict[str, float]] = {}
    trials = complete(study)
    try:
        for k, name in enumerate(("expectancy", "pass_rate")):
            if len({t.values[k] for t in trials}) < 2:
                out[name] = {}  # every trial scored the same: nothing to attribute
                continue
            with warnings.catch_warnings():  # PED-ANOVA warns about low targets: ours are negated on purpose
                warnings.simplefilter("ignore", UserWarning)
                imp = optuna.importance.get_param_importances(
                    study, evaluator=optuna.importance.PedAnovaImportanceEvaluator(), target=_negated(k)
                )
            out[name] = {p: float(v) for p, v in imp.items()}
    except (RuntimeError, ValueError) as exc:
        return f"n/a ({exc})"
    return out


def overfitting(study: optuna.Study, chosen: optuna.trial.FrozenTrial, initial_balance: float) -> dict[str, Any]:
    trials = [t for t in complete(study) if "daily_pnl" in t.user_attrs]
    if not trials or "daily_pnl" not in chosen.user_attrs:
        return {"note": "no complete trial with daily returns"}
    m = np.array([t.user_attrs["daily_pnl"] for t in trials], dtype=np.float64).T / initial_balance
    srs = np.array([sharpe(m[:, j]) for j in range(m.shape[1])])
    r = np.asarray(chosen.user_attrs["daily_pnl"], dtype=np.float64) / initial_balance
    d = deflated_sharpe_ratio(r, len(trials), float(srs.var(ddof=1)) if len(trials) > 1 else 0.0)
    out: dict[str, Any] = {
        "trials": len(trials),
        "days": int(m.shape[0]),
        "deflated_sharpe": {
            "daily_sharpe": d.sharpe,
            "expected_max_sharpe_of_luck": d.benchmark,
            "dsr": d.dsr,
            "significant_at_95": d.significant,
        },
    }
    if len(trials) >= 2 and m.shape[0] >= 2 * PBO_BLOCKS:
        p = pbo_cscv(m, PBO_BLOCKS)
        out["pbo"] = {"pbo": p.pbo, "splits": p.splits, "blocks": p.blocks}
    else:
        out["pbo"] = {"note": f"needs >= 2 trials and >= {2 * PBO_BLOCKS} days"}
    return out


def verdict(check: dict[str, Any]) -> str:
    d = check.get("deflated_sharpe", {})
    if d and d.get("daily_sharpe", 0.0) <= 0:
        return "NO EDGE: the best trial loses money on the validation folds (daily Sharpe <= 0)"
    pbo = check.get("pbo", {}).get("pbo")
    dsr = d.get("dsr")
    luck = (dsr is None or dsr != dsr or dsr < 0.95) or (pbo is not None and pbo > 0.5)
    return (
        "LIKELY LUCK: the best trial is not distinguishable from the best of as many unskilled trials"
        if luck
        else "the best trial's edge survives the deflation and the PBO check"
    )


def final_test_block(
    study: optuna.Study, data: TuneData, chosen: optuna.trial.FrozenTrial
) -> tuple[dict[str, Any], bool]:
    """(figures, scored_now): the chosen trial's score on the final test block. Scored once: the first
    time it is run and kept in the study (user attr `test_block:<trial>`); later calls read it back."""
    from composition.tuning.objective import evaluate

    key = f"test_block:{chosen.number}"
    kept = study.user_attrs.get(key)
    if kept is not None:
        return dict(kept), False
    figures = evaluate(data, chosen.params, test=True).as_dict()
    study.set_user_attr(key, figures)
    return figures, True
