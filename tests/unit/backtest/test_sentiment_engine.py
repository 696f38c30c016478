"""The batch engine's sentiment: the `sentiment` member enters the ensemble like any model and the
filter blocks exactly the candidates the live rule blocks (synthetic candles: mechanics only)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from adapters.mocks.market_data import synthetic_candles
from domain.backtest.engine import BLOCK_CODES, CANDIDATE, EngineConfig, PairData, stage1
from domain.confidence import SENTIMENT_ONLY, WITHOUT_RL, ConfidenceParams
from domain.market import Timeframe
from domain.sentiment import ScoredPost, as_prob_up, reading_of
from domain.signals import BlockReason
from domain.trading import SymbolSpec
from plugins import hookimpl
from tests.oracles.scalar_decision import against_sentiment

START = 1_704_067_200_000


def _pair(probs: dict[str, np.ndarray]) -> PairData:
    c = synthetic_candles("BTC/USDT", Timeframe.M5, 400, START, seed=3, start_price=40_000)
    return PairData("BTC/USDT", c, probs, SymbolSpec("BTC/USDT", "BTCUSD", 1.0))


def test_the_filter_blocks_the_candidates_against_strong_sentiment_and_nothing_else() -> None:
    n = 400
    rng = np.random.default_rng(5)
    up = np.where(rng.random(n) < 0.5, 0.85, 0.15)  # confident models, both directions
    mood = np.full(n, np.nan)
    mood[::3] = as_prob_up(-0.7)
    mood[1::3] = as_prob_up(0.3)
    base = {"lstm": up, "transformer": up}
    cfg = EngineConfig(confidence=ConfidenceParams(weights=WITHOUT_RL), sentiment_bound=0.5, hysteresis_scans=1)
    plain = stage1(_pair(base), cfg)
    with_mood = stage1(_pair({**base, "sentiment": mood}), cfg)
    code = BLOCK_CODES[BlockReason.SENTIMENT]
    want = np.array(
        [
            plain.outcome[i] == CANDIDATE
            and against_sentiment(int(plain.direction[i]), None if np.isnan(mood[i]) else float(mood[i]), 0.5)
            for i in range(n)
        ]
    )
    assert want.sum() > 10
    assert ((with_mood.outcome == code) == want).all()
    assert (with_mood.outcome[~want] == plain.outcome[~want]).all()  # sentiment has no weight: nothing else moves
    off = stage1(_pair({**base, "sentiment": mood}), EngineConfig(confidence=cfg.confidence, hysteresis_scans=1))
    assert not (off.outcome == code).any()  # bound 0: the filter is off


def test_the_member_joins_the_ensemble_under_its_weight() -> None:
    n = 400
    up = np.full(n, 0.8)
    mood = np.full(n, np.nan)
    mood[200:] = as_prob_up(0.2)
    cfg = EngineConfig(confidence=ConfidenceParams(weights=SENTIMENT_ONLY), hysteresis_scans=1)
    s = stage1(_pair({"lstm": up, "transformer": up, "sentiment": mood}), cfg)
    assert s.prob_up[:200] == pytest.approx(0.8)  # absent: renormalised over the two models
    assert s.prob_up[200:] == pytest.approx(0.3 * 0.8 + 0.35 * 0.8 + 0.35 * 0.6)


def test_with_sentiment_gives_every_bar_the_score_the_replay_source_reads(tmp_path: Path) -> None:
    import plugins.sentiment as plugin
    from adapters.storage.sentiment import SqlSentimentStore
    from composition.config import load_config
    from composition.runtime.plugins import with_sentiment
    from plugins.manager import PluginHost
    from tests.integration.storage.migrated import migrated_sqlite_url

    url = migrated_sqlite_url(tmp_path / "bt.sqlite3")
    store = SqlSentimentStore(url, lambda: 0)
    rng = np.random.default_rng(9)
    posts = [
        ScoredPost("reddit", f"p{i}", "BTC/USDT", START + int(t), float(s), "t")
        for i, (t, s) in enumerate(zip(rng.uniform(0, 400 * 300_000, 300), rng.uniform(-1, 1, 300), strict=True))
    ]
    store.add_posts(posts)
    config = load_config(env_file=None, environ={"DATABASE_URL": url, "SENTIMENT_BLOCK_BOUND": "0.4"})
    host = PluginHost.discover(entry_points=[], extra={"sentiment": plugin})
    up = np.full(400, 0.7)
    cfg0 = EngineConfig(confidence=ConfidenceParams(weights=WITHOUT_RL))
    [pd], cfg = with_sentiment(
        config,
        [_pair({"lstm": up, "transformer": up})],
        cfg0,
        ["lstm", "transformer"],
        logging.getLogger("t"),
        host=host,
    )
    assert cfg.sentiment_bound == 0.4 and cfg.confidence.weights == SENTIMENT_ONLY
    close = pd.bars.ts + pd.bars.timeframe.ms
    [src] = host.sentiment_sources({}, store=store, replay=True)
    for i in range(0, 400, 37):
        r = src.reading("BTC/USDT", int(close[i]))
        direct = reading_of("BTC/USDT", posts, int(close[i]))
        assert (r is None) == (direct.score is None)
        if r is None:
            assert np.isnan(pd.probs["sentiment"][i])
        else:
            assert pd.probs["sentiment"][i] == as_prob_up(r.score) and r.coverage == direct.coverage  # type: ignore[arg-type]
    # without the plugin: unchanged
    pairs, same = with_sentiment(config, [pd], cfg0, ["lstm"], host=PluginHost.discover(entry_points=[]))
    assert same is cfg0 and pairs[0] is pd


class _Agent:
    version, gates_passed = "a1", True

    def __init__(self, name: str, batch: bool) -> None:
        self.name = name
        if batch:
            self.predict_batch = lambda pair, bars: np.full(len(bars), 0.6)

    def predict(self, inputs: object) -> list[object]:
        return []


class _AgentPlugin:
    @hookimpl
    def trading_ai_predictors(self) -> list[object]:
        return [_Agent("rl", batch=True), _Agent("nobatch", batch=False)]


def test_with_plugins_adds_batch_capable_extra_predictors_and_logs_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from composition.config import load_config
    from composition.runtime.plugins import with_plugins
    from domain.confidence import plan_weights
    from plugins.manager import PluginHost

    config = load_config(
        env_file=None,
        environ={
            "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
            "ENSEMBLE_WEIGHTS": "lstm=0.3,transformer=0.35,rl=0.25,nobatch=0.1",
        },
    )
    host = PluginHost.discover(entry_points=[], extra={"rl": _AgentPlugin()})
    up = np.full(400, 0.7)
    cfg0 = EngineConfig(confidence=ConfidenceParams(weights=WITHOUT_RL))
    with caplog.at_level(logging.WARNING, logger="t.bt"):
        [pd], cfg = with_plugins(
            config,
            [_pair({"lstm": up, "transformer": up})],
            cfg0,
            ["lstm", "transformer"],
            logging.getLogger("t.bt"),
            host=host,
        )
    assert pd.probs["rl"].tolist() == [0.6] * 400 and "nobatch" not in pd.probs
    assert cfg.confidence.weights.as_dict()["rl"] == 0.25  # the configured weights: the runtime's
    assert any(r.getMessage() == "backtest_predictor_left_out" for r in caplog.records)
    assert stage1(pd, cfg).prob_up[0] == pytest.approx((0.3 * 0.7 + 0.35 * 0.7 + 0.25 * 0.6) / 0.9)
    assert plan_weights({"rl"}).as_dict()["rl"] == 0.25
