"""The RL gate's both branches, and what each does to the registry: PASS enables the agent and makes
the plan's weights available (not applied); FAIL keeps it registered but disabled."""

from __future__ import annotations

from pathlib import Path

import attrs
import pytest

from plugins.rl.agent import GateThresholds
from plugins.rl.gate import SeedFigures, curve_stable, evaluate
from plugins.rl.store import AgentStore

BALANCED = {"hold": 0.6, "long": 0.2, "short": 0.15, "close": 0.05}


def _seed(
    seed: int,
    sup: float = 1.0,
    rl: float = 4.0,
    prec: tuple[float, float] = (0.5, 0.55),
    curve: tuple[float, ...] = (0.1, 0.5, 0.6, 0.55),
    share: dict[str, float] = BALANCED,
) -> SeedFigures:
    return SeedFigures(seed, sup, prec[0], 40, rl, prec[1], 42, curve, share, 0.3)


def test_pass_when_every_condition_holds() -> None:
    v = evaluate([_seed(s) for s in range(5)], GateThresholds())
    assert v.passed and v.stable and v.seeds == 5 and v.improvement_pp == pytest.approx(3.0)
    assert v.result_line() == "RESULT rl_gate=PASS oos_improvement_pct=3.0000 seeds=5 stable=true"


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"rl": 2.5}, "median OOS net-return improvement"),  # +1.5 pp < 2 pp
        ({"prec": (0.55, 0.5)}, "precision with RL"),
        ({"curve": (0.1, 2.0, -1.0, 0.5)}, "validation rewards spread"),
        ({"share": {"hold": 0.97, "long": 0.01, "short": 0.01, "close": 0.01}}, "chosen on 97.0%"),
    ],
)
def test_fail_branches(change: dict[str, object], reason: str) -> None:
    figs = [_seed(s, **change) for s in range(5)]  # type: ignore[arg-type]
    v = evaluate(figs, GateThresholds())
    assert not v.passed and any(reason in r for r in v.reasons), v.reasons
    assert "rl_gate=FAIL" in v.result_line()


def test_too_few_seeds_fail_and_the_median_decides() -> None:
    assert "4 seeds < 5" in " ".join(evaluate([_seed(s) for s in range(4)], GateThresholds()).reasons)
    # two seeds far ahead do not carry three that are not: median, not mean
    figs = [_seed(0, rl=30.0), _seed(1, rl=30.0), _seed(2, rl=1.0), _seed(3, rl=1.5), _seed(4, rl=2.0)]
    v = evaluate(figs, GateThresholds())
    assert not v.passed and v.improvement_pp == pytest.approx(1.0) and v.improvement_spread == (0.0, 29.0)


def test_curve_stability() -> None:
    ok, spread = curve_stable([5.0, 0.1, 0.2, 0.3], 3, 0.5)
    assert ok and spread == pytest.approx(0.2)
    assert curve_stable([0.1, 0.3], 3, 0.5)[0] is False  # too few evaluations


def test_verdicts_in_the_registry(tmp_path: Path) -> None:
    store = AgentStore(tmp_path)
    run = store.add_run({"seeds": [], "selected_seed_index": 0})
    assert store.served() is None  # not evaluated yet
    failed = evaluate([_seed(s, rl=1.0) for s in range(5)], GateThresholds())
    store.record_verdict(run, attrs.asdict(failed), str(tmp_path / "rl_failure_report.md"))
    e = store.run(run)
    assert e["enabled"] is False and e["weights_available"] is None and store.served() is None
    passed = evaluate([_seed(s) for s in range(5)], GateThresholds())
    store.record_verdict(run, attrs.asdict(passed), None)
    served = store.served()
    assert served is not None and served["enabled"] is True
    assert served["weights_available"] == "lstm=0.3,transformer=0.35,rl=0.25,sentiment=0.1"
