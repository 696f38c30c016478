"""Sentiment in the scan cycle: the ensemble member, renormalisation when a source has nothing or
fails, the filter's own block reason, the signal's reasons and the `sentiment` topic."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from adapters.mocks.sentiment import FixedSentiment
from domain.confidence import SENTIMENT_ONLY, WITHOUT_RL, ConfidenceParams
from domain.sentiment import SentimentReading, against_sentiment_batch, as_prob_up
from domain.signals import BlockReason, Direction
from plugins import hookimpl
from plugins.manager import PluginHost
from tests.oracles.scalar_decision import against_sentiment, ensemble_prob
from tests.unit.services.conftest import System


def _with(system: System, src: Any, weights: Any = SENTIMENT_ONLY, bound: float = 0.0) -> System:
    system.cycle.sentiment = [src]
    system.cycle.sentiment_bound = bound
    system.cycle.confidence = ConfidenceParams(weights=weights)
    return system


def test_sentiment_joins_the_ensemble_under_its_weight_and_renormalises_when_absent(system: System) -> None:
    _with(system, FixedSentiment({"BTC/USDT": 0.2}, name="fixed", coverage=7))
    system.scan()
    rep = system.scan()
    [sig] = rep.signals
    want = ensemble_prob({"lstm": 0.8, "transformer": 0.8, "sentiment": as_prob_up(0.2)}, SENTIMENT_ONLY)
    assert want == pytest.approx(0.3 * 0.8 + 0.35 * 0.8 + 0.35 * 0.6)
    assert sig.reasons[0].startswith(f"ensemble:{want:.4f}[lstm,sentiment,transformer]")
    assert "sentiment:+0.2000(7)" in sig.reasons and "sentiment:fixed" in sig.model_versions
    assert system.bus.topic("signals")[-1]["sentiment"] == 0.2  # in the signal payload
    assert [(r.pair, r.score, r.coverage) for r in rep.sentiment] == [("BTC/USDT", 0.2, 7)]
    # ETH has no sentiment: its ensemble is the two models' renormalised (0.55 -> 0.50 after the bias: quiet)
    assert rep.quiet == ("ETH/USDT",)
    events = system.bus.topic("sentiment")
    assert {(e["pair"], e["score"], e["coverage"]) for e in events[-2:]} == {
        ("BTC/USDT", 0.2, 7),
        ("ETH/USDT", None, 0),
    }


def test_a_signal_against_strong_sentiment_is_blocked_with_its_own_reason(system: System) -> None:
    _with(system, FixedSentiment({"BTC/USDT": -0.6}), weights=WITHOUT_RL, bound=0.5)
    system.scan()
    rep = system.scan()
    assert rep.signals == ()
    [b] = [b for b in rep.blocks if b.pair == "BTC/USDT"]
    assert b.reason is BlockReason.SENTIMENT and "-0.600" in b.detail and "long" in b.detail
    assert system.log.blocks()[-1].reason is BlockReason.SENTIMENT


def test_weak_or_agreeing_sentiment_passes_the_filter() -> None:
    p = as_prob_up  # the filter reads the ensemble member's probability, as the batch engine does
    long, short = Direction.LONG.sign, Direction.SHORT.sign
    sign = np.array([long, long, short, long, short, short, long])
    probs = np.array([p(-0.49), p(0.9), p(0.5), p(-0.6), p(0.9), np.nan, p(-0.7)])
    assert against_sentiment_batch(sign, probs, 0.5).tolist() == [False, False, True, True, True, False, True]
    assert not against_sentiment_batch(sign, probs, 0.0).any()  # bound 0: filter off
    # the scalar oracle (tests only) agrees row by row
    assert against_sentiment_batch(sign, probs, 0.5).tolist() == [
        against_sentiment(int(d), None if np.isnan(x) else float(x), 0.5) for d, x in zip(sign, probs, strict=True)
    ]


class _DownSource:
    name = "down"

    def reading(self, pair: str, at_ms: int) -> SentimentReading | None:
        raise TimeoutError("read timed out")

    def score(self, pair: str, at_ms: int) -> float | None:
        return None


class _DownPlugin:
    @hookimpl
    def trading_ai_sentiment_sources(self) -> list[Any]:
        return [_DownSource()]


def test_an_outage_leaves_the_two_models_and_the_cycle_going(system: System) -> None:
    alerts: list[str] = []
    host = PluginHost.discover(entry_points=[], extra={"sentiment": _DownPlugin()}, alert=lambda k, t: alerts.append(k))
    [src] = host.sentiment_sources({}, None, False)
    _with(system, src, bound=0.5)
    system.scan()
    rep = system.scan()
    [sig] = rep.signals
    assert sig.reasons[0].startswith("ensemble:0.8000[lstm,transformer]")  # renormalised over what is present
    assert rep.sentiment == () and alerts == ["plugin_failed"]
