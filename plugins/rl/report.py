"""What `trading-ai rl evaluate` prints and what `models/rl_failure_report.md` says."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

from plugins.rl.env import ACTIONS
from plugins.rl.gate import Verdict


def _f(x: Any, nd: int = 3, sign: bool = False) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return f"{x:+.{nd}f}" if sign else f"{x:.{nd}f}"


def _shares(d: dict[str, float]) -> str:
    return " ".join(f"{a} {100 * d.get(a, 0.0):.1f}%" for a in ACTIONS)


def _seed_rows(verdict: Verdict, extra: Sequence[dict[str, Any]]) -> list[str]:
    head = (
        "| seed | val rewards (last k) | curve spread pp | chosen actions (test) | executed (test) | "
        "RL alone test % | supervised % | with RL % | improvement pp | precision sup / RL | trades sup / RL |"
    )
    rows = [head, "|" + "---|" * 11]
    for s, x in zip(verdict.per_seed, extra, strict=True):
        rows.append(
            f"| {s['seed']} | {' '.join(_f(v, 2) for v in s['val_rewards'][-3:])} | {_f(s['curve_spread_pp'])} | "
            f"{_shares(s['chosen_share'])} | {_shares(x['executed_share'])} | "
            f"{_f(s['rl_alone_test_return_pct'], 3, True)}"
            f" | {_f(s['supervised_return_pct'], 3, True)} | {_f(s['rl_return_pct'], 3, True)} | "
            f"{_f(s['improvement_pp'], 3, True)} | {_f(s['supervised_precision'])} / {_f(s['rl_precision'])} | "
            f"{s['supervised_trades']} / {s['rl_trades']} |"
        )
    return rows


def _curves(entry: dict[str, Any]) -> list[str]:
    out = []
    for row in entry["seeds"]:
        pts = ", ".join(
            f"{p['timesteps']}: {_f(p['val_return_pct'], 2)} (train ep {_f(p['train_episode_reward'], 2)})"
            for p in row["curve"]
        )
        out.append(f"- seed {row['seed']} (best checkpoint #{row['best_index'] + 1}, {row['seconds']:.0f} s): {pts}")
    return out


def evaluation_text(
    entry: dict[str, Any], verdict: Verdict, extra: Sequence[dict[str, Any]], info: dict[str, Any]
) -> list[str]:
    lines = [
        f"RL run {entry['run_id']} ({entry['profile']} profile), bundle {info['bundle']}",
        f"test bars {info['test_bars']} (the bundle's final-fold test split, out of sample for both), costs: "
        f"{info['costs']}, commission {info['fee_bps_per_side']} bps per side",
        f"weights: supervised {info['supervised_weights']} | with RL {info['with_rl_weights']}",
        "",
        "Reward curves (validation return % per evaluation; model selection on validation only):",
        *_curves(entry),
        "",
        *_seed_rows(verdict, extra),
        "",
        f"median OOS improvement {_f(verdict.improvement_pp, 3, True)} pp (seeds from "
        f"{_f(verdict.improvement_spread[0], 3, True)} to {_f(verdict.improvement_spread[1], 3, True)}), "
        f"precision with RL {_f(verdict.precision_with_rl)} vs supervised {_f(verdict.precision_supervised)}, "
        f"stable={str(verdict.stable).lower()}",
    ]
    lines += ["", *_reading(verdict, extra)]
    if verdict.reasons:
        lines += ["", "Gate failed because:", *[f"- {r}" for r in verdict.reasons]]
    return lines


def _reading(verdict: Verdict, extra: Sequence[dict[str, Any]]) -> list[str]:
    """What the figures mean beyond the verdict: did the RL member add an edge, or trade less?"""
    if not verdict.per_seed:
        return []
    med = statistics.median
    t_rl = med([s["rl_trades"] for s in verdict.per_seed])
    t_sup = verdict.per_seed[0]["supervised_trades"]
    sup = verdict.per_seed[0]["supervised_return_pct"]
    alone = med([s["rl_alone_test_return_pct"] for s in verdict.per_seed])
    hold = med([x["executed_share"].get("hold", 0.0) for x in extra])
    out = [
        f"Reading: the ensemble with RL made a median {t_rl:g} trades against {t_sup} without it; the supervised "
        f"ensemble alone returned {_f(sup, 3, True)} %; the agent alone a median {_f(alone, 3, True)} %; "
        f"{100 * hold:.1f} % of its executed test actions were hold."
    ]
    if sup < 0 and t_rl < t_sup:
        out.append(
            "The improvement comes with fewer trades of a losing supervised ensemble: losing less by "
            "trading less is not an edge of the agent."
        )
    return out


def print_evaluation(
    entry: dict[str, Any], verdict: Verdict, extra: Sequence[dict[str, Any]], info: dict[str, Any]
) -> None:
    print("\n".join(evaluation_text(entry, verdict, extra, info)))


def failure_report(
    entry: dict[str, Any], verdict: Verdict, extra: Sequence[dict[str, Any]], info: dict[str, Any]
) -> str:
    s = entry["settings"]
    ppo, env, gate = s["ppo"], s["env"], s["gate"]
    tried = [
        f"- PPO (stable-baselines3, CPU, MlpPolicy {ppo['net_arch']}), {len(entry['seeds'])} seeds x "
        f"{ppo['total_timesteps']} timesteps, {ppo['n_envs']} vectorised envs, n_steps {ppo['n_steps']}, batch "
        f"{ppo['batch_size']}, {ppo['n_epochs']} epochs, lr {ppo['learning_rate']}, gamma {ppo['gamma']}, "
        f"entropy {ppo['ent_coef']}, max_grad_norm {ppo['max_grad_norm']}; validation every {ppo['eval_every']} "
        "timesteps, best validation checkpoint kept.",
        f"- Environment: {env['window']}-bar window of the bundle's {len(entry['feature_names'])} features "
        f"(standardised on the training split) + position state; hold/long/short/close, impossible actions "
        f"executed as hold; reward = equity change after costs (% of start); episodes of {env['episode_bars']} "
        f"bars ending at a {env['max_drawdown_pct']}% drawdown.",
        f"- Costs: {entry['cost_model']['description']}; commission {entry['cost_model']['fee_bps']} bps per side.",
        f"- Pairs {', '.join(entry['pairs'])} ({entry['timeframe']}), the supervised bundle {entry['bundle_tag']}'s "
        "final walk-forward fold.",
    ]
    gate_txt = (
        f"net return +{gate['min_improvement_pp']} pp (median over >= {gate['min_seeds']} seeds), precision "
        f"not lower, last {gate['stability_last_k']} validation rewards within "
        f"{gate['stability_max_spread_pp']} pp, no action above {100 * gate['max_action_share']:.0f}%"
    )
    body = [
        "# RL agent: failure report",
        "",
        f"Run {entry['run_id']}, created {entry['created_at']}. Gate: {gate_txt}.",
        "",
        f"**{verdict.result_line()}**",
        "",
        "The agent stays registered but disabled: the plugin returns it with `gates_passed = False`, the "
        "plugin host leaves it out, and the runtime keeps the fallback ensemble weights.",
        "",
        "## What was tried",
        *tried,
        "",
        "## Why it failed",
        *[f"- {r}" for r in verdict.reasons],
        "",
        "## Figures",
        *evaluation_text(entry, verdict, extra, info)[2:],
        "",
        "## Test-split equity of the agent trading alone (start = 1.0, subsampled)",
    ]
    for s_, x in zip(verdict.per_seed, extra, strict=True):
        for pair, eq in zip(entry["pairs"], x["equity_test"], strict=True):
            body.append(f"- seed {s_['seed']} {pair}: " + " ".join(f"{v:.4f}" for v in eq[:: max(1, len(eq) // 20)]))
    return "\n".join(body) + "\n"
