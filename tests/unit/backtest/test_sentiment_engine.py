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
from domain.sentiment import ScoredPost, against_sentiment, as_prob_up, reading_of
from domain.signals import BlockReason
from domain.trading import SymbolSpec

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

    url = f"sqlite:///{tmp_path / 'bt.sqlite3'}"
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
