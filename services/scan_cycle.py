"""One scan: candles -> features -> predictions -> confidence -> tier -> hysteresis -> policy + guard -> emit.

Confidence, tiers and hysteresis are the backtest's array steps (domain.confidence.score_batch,
domain.tiering) run on the newest bar: one row per pair of the cycle, each pair's hysteresis memory
carried from cycle to cycle in the runtime state.

Every emitted signal is logged (outbox: pending -> sent) and recorded in the risk book in ONE
unit of work committed before the notification, then notified, marked sent and published; every
block is logged with its reason and published on "blocks".
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from domain import policy as pol
from domain.confidence import ConfidenceBatch, ConfidenceParams, ConfidenceResult, result_of, score_batch
from domain.errors import ConfigError
from domain.market import Candles, Timeframe, primary_session
from domain.risk_book import TradeRecord
from domain.sentiment import SENTIMENT_MEMBER, SentimentReading, against_sentiment_batch, as_prob_up, combine
from domain.settings import DEFAULT_LOOKBACK_BARS
from domain.signals import Block, BlockReason, Direction, Signal, Tier, reward_risk
from domain.tiering import History, hysteresis_run, raw_tiers_batch
from domain.trading import Fill
from domain.volatility import regime_codes, stop_atr
from ports.broker import Broker
from ports.clock import Clock
from ports.event_bus import EventBus
from ports.market_data import MarketData
from ports.notifier import Notifier
from ports.predictor import Predictor
from ports.runtime_state import PairHysteresis
from ports.sentiment import SentimentSource
from ports.storage import OrderIntentRepository, RiskBookRepository, SignalLogRepository, StorageUnitOfWork
from services.execution import RiskDesk, execute_guarded, pre_trade, refresh_ftmo

log = logging.getLogger(__name__)

FeaturesFn = Callable[[Candles], Any]
UnitOfWorkFactory = Callable[[], StorageUnitOfWork]


@attrs.frozen
class ScanSettings:
    pairs: tuple[str, ...]
    timeframe: Timeframe = Timeframe.M5
    lookback_bars: int = DEFAULT_LOOKBACK_BARS
    sl_atr_mult: float = 1.5
    reward_risk: float = 2.0
    fallback_sl_pct: float = 1.0  # when ATR is not yet defined
    atr_window: int = 14  # stop ATR: mean of the last 14 true ranges (domain.volatility)
    regime_window: int = 240  # regime: the ATR's percentile rank among its last 240 values
    hysteresis_scans: int = 2
    execute: bool = False  # place orders through the broker (live/paper execution)
    # Prepended to every signal id. A replay of history sets one per run, so replaying the same days
    # again into the same database makes new signals instead of colliding with the last run's ids.
    signal_id_prefix: str = ""

    def __attrs_post_init__(self) -> None:
        # the look-back window must hold every bar the ATR and the regime depend on
        if self.atr_window < 1 or self.regime_window < 1 or self.atr_window + self.regime_window > self.lookback_bars:
            raise ConfigError(
                f"scan settings: atr_window ({self.atr_window}) + regime_window ({self.regime_window}) must be "
                f"positive and fit in lookback_bars ({self.lookback_bars})"
            )


@attrs.frozen
class CycleReport:
    at_ms: int
    signals: tuple[Signal, ...]
    blocks: tuple[Block, ...]
    quiet: tuple[str, ...]  # pairs whose tier was NONE
    sentiment: tuple[SentimentReading, ...] = ()  # the pairs' sentiment this cycle (sentiment plugin)


def signal_sentiment(s: Signal) -> float | None:
    """The sentiment score the signal was decided with (its `sentiment:` reason), or None."""
    for r in s.reasons:
        if r.startswith("sentiment:"):
            return float(r[len("sentiment:") :].split("(", 1)[0])
    return None


def signal_payload(s: Signal) -> dict[str, Any]:
    return {
        "signal_id": s.signal_id,
        "pair": s.pair,
        "direction": s.direction.value,
        "tier": s.tier.name,
        "conf": s.confidence,
        "entry": s.entry,
        "tp": s.tp,
        "sl": s.sl,
        "rr": s.rr,
        "created_at_ms": s.created_at_ms,
        "mode": s.mode.value,
        "models": list(s.model_versions),
        "reasons": list(s.reasons),
        "sentiment": signal_sentiment(s),
    }


def block_payload(b: Block) -> dict[str, Any]:
    return {
        "pair": b.pair,
        "reason": b.reason.value,
        "detail": b.detail,
        "at_ms": b.at_ms,
        "tier": b.tier.name,
        "mode": b.mode.value,
    }


@attrs.define
class ScanCycle:
    settings: ScanSettings
    desk: RiskDesk
    market: MarketData
    predictors: Sequence[Predictor]
    features: FeaturesFn
    broker: Broker
    notifier: Notifier
    risk_book: RiskBookRepository
    signal_log: SignalLogRepository
    bus: EventBus
    clock: Clock
    confidence: ConfidenceParams = attrs.field(factory=ConfidenceParams)
    # The store's `unit_of_work` (SqlStorage.unit_of_work, InMemoryStorage.unit_of_work): the signal
    # and its risk-book row commit together. It must belong to the same store as `risk_book` and
    # `signal_log`. None: two separate writes, for stores without transactions (not crash-atomic).
    unit_of_work: UnitOfWorkFactory | None = None
    # Orders are recorded here before they are sent (services.execution.execute_guarded) and marked
    # sent in the unit of work that records their signal; the store's `order_intents`.
    intents: OrderIntentRepository | None = None
    # Sentiment (plugins.manager guards each source): the pairs' rolling score joins the ensemble as
    # the `sentiment` member under its weight, and a candidate against |score| >= sentiment_bound is
    # blocked (BlockReason.SENTIMENT; 0 = filter off). No source or no score: as before.
    sentiment: Sequence[SentimentSource] = ()
    sentiment_bound: float = 0.0
    # Each pair's last features (the features function, the rows asked for, a copy of its candles,
    # what it returned). `features` is a function of the candles alone, so a cycle whose closed bars
    # equal the last cycle's, value for value (the scan runs more often than bars close), takes the
    # same result without recomputing it. A copy: a feed may reuse its arrays in place.
    _last_features: dict[str, tuple[FeaturesFn, int | None, Candles, Any]] = attrs.field(
        factory=dict, init=False, repr=False, eq=False
    )

    # ------------------------------------------------------------ helpers shared with operator
    def features_of(self, pair: str, candles: Candles) -> Any:
        """`self.features(candles)`, reused from the pair's last call when its candles are unchanged.
        When every predictor says how many of the newest feature rows it reads (`feature_rows`) and
        the features function can stop there (`newest(candles, rows)`: the same values for those
        rows), only those rows are computed."""
        rows = self.feature_rows()
        newest = getattr(self.features, "newest", None) if rows is not None else None
        if newest is None:
            rows = None
        last = self._last_features.get(pair)
        if last is not None and last[0] is self.features and last[1] == rows and last[2].equals(candles):
            return last[3]
        out = self.features(candles) if newest is None else newest(candles, rows)
        self._last_features[pair] = (self.features, rows, candles.copy(), out)
        return out

    def feature_rows(self) -> int | None:
        """The most newest feature rows any predictor reads (their `feature_rows`); None (all of them)
        when there is no predictor or one does not say."""
        rows = None
        for p in self.predictors:
            r = getattr(p, "feature_rows", None)
            if r is None:
                return None
            rows = max(int(r), rows or 0)
        return rows

    def _hysteresis(self, pair: str) -> History:
        """The pair's hysteresis memory from the runtime state (hysteresis_run keeps its last N-1 scans)."""
        for h in self.desk.runtime.hysteresis:
            if h.pair == pair:
                return h.history
        return ()

    def _store_hysteresis(self, pair: str, history: History) -> None:
        others = tuple(x for x in self.desk.runtime.hysteresis if x.pair != pair)
        self.desk.runtime = attrs.evolve(
            self.desk.runtime,
            hysteresis=tuple(sorted((*others, PairHysteresis(pair, history)), key=lambda x: x.pair)),
        )

    def levels(self, candles: Candles, direction: Direction, entry: float) -> tuple[float, float]:
        """(tp, sl) from the stop ATR: SL at sl_atr_mult x ATR, TP at reward_risk x that distance."""
        a = self._stop_atr(candles)
        dist = float(a[-1]) * self.settings.sl_atr_mult if len(a) and not math.isnan(a[-1]) else math.nan
        if not dist > 0:
            dist = entry * self.settings.fallback_sl_pct / 100.0
        s = direction.sign
        return entry + s * dist * self.settings.reward_risk, entry - s * dist

    def _record(self, sig: Signal, record: TradeRecord, fill: Fill | None = None) -> None:
        """The signal (outbox: pending) and its risk-book row, durable together before any notification;
        with an order sent (`fill`), its intent is marked sent in the same unit."""
        sent = fill if self.intents is not None else None
        if self.unit_of_work is None:
            self.signal_log.log_signal(sig)
            self.risk_book.add(record)
            if sent is not None and self.intents is not None:
                self.intents.mark_sent(sig.signal_id, sig.created_at_ms, sent.position_id)
            return
        with self.unit_of_work() as uow:
            uow.signal_log.log_signal(sig)
            uow.risk_book.add(record)
            if sent is not None:
                uow.order_intents.mark_sent(sig.signal_id, sig.created_at_ms, sent.position_id)
            uow.commit()

    def _block(self, b: Block, out: list[Block]) -> None:
        out.append(b)
        self.signal_log.log_block(b)
        self.bus.publish("blocks", block_payload(b))
        log.info("blocked %s: %s (%s)", b.pair, b.reason.value, b.detail)

    # ------------------------------------------------------------ the use case
    def run_once(self) -> CycleReport:
        now = self.clock.now_ms()
        tf = self.settings.timeframe
        # The FTMO ledger moves with the clock, candidate or not: rolled at Prague midnight with the
        # balance at midnight, equity checked against both floors, a breach latches the halt and (when
        # this cycle places orders and FLATTEN_ON_FLOOR) closes every position.
        refresh_ftmo(self.desk, self.broker, now, self.notifier, flatten=self.settings.execute)
        signals: list[Signal] = []
        blocks: list[Block] = []
        quiet: list[str] = []
        candles: dict[str, Candles] = {}
        for pair in self.settings.pairs:
            c = self.market.candles(pair, tf, now - self.settings.lookback_bars * tf.ms, now).closed_before(now)
            if len(c) == 0:
                self._block(Block(pair, BlockReason.NO_DATA, "no closed bars", now, mode=self.desk.mode), blocks)
                continue
            candles[pair] = c
        inputs = {p: self.features_of(p, c) for p, c in candles.items()}
        probs: dict[str, dict[str, float]] = {p: {} for p in candles}
        versions: dict[str, list[str]] = {p: [] for p in candles}
        for pred in self.predictors:
            for pr in pred.predict(inputs):
                if pr.pair in probs:
                    probs[pr.pair][pr.model_name] = pr.prob_up
                    versions[pr.pair].append(f"{pr.model_name}:{pr.model_version}")
        moods = self._sentiment_readings(list(candles), now, probs, versions)
        pairs = list(candles)
        cb, cols = self._score(candles, probs, now)
        raw = raw_tiers_batch(cb.confidence, self.desk.thresholds)
        against = against_sentiment_batch(
            cb.direction_sign, cols.get(SENTIMENT_MEMBER, np.full(len(pairs), np.nan)), self.sentiment_bound
        )
        for i, pair in enumerate(pairs):
            c = candles[pair]
            run = hysteresis_run(
                cb.direction_sign[i : i + 1], raw[i : i + 1], self.settings.hysteresis_scans, self._hysteresis(pair)
            )
            self._store_hysteresis(pair, run.history)
            res = result_of(cb, i, self.confidence, cols)
            if res is None:
                self._block(
                    Block(pair, BlockReason.NO_PREDICTION, "no model scored this pair", now, mode=self.desk.mode),
                    blocks,
                )
                continue
            raw_tier, tier = Tier(int(raw[i])), Tier(int(run.tier[0]))
            if tier is Tier.NONE:
                if raw_tier is Tier.NONE:
                    quiet.append(pair)
                else:
                    self._block(
                        Block(
                            pair,
                            BlockReason.HYSTERESIS,
                            f"raw tier {raw_tier.name} needs {self.settings.hysteresis_scans} scans",
                            now,
                            raw_tier,
                            res.confidence,
                            self.desk.mode,
                        ),
                        blocks,
                    )
                continue
            mood = moods.get(pair)
            if mood is not None and against[i]:
                self._block(
                    Block(
                        pair,
                        BlockReason.SENTIMENT,
                        f"sentiment {mood.score:+.3f} ({mood.coverage} posts) "
                        f"against {res.direction.value}, bound {self.sentiment_bound:g}",
                        now,
                        tier,
                        res.confidence,
                        self.desk.mode,
                    ),
                    blocks,
                )
                continue
            out = self.emit(
                pair,
                c,
                res,
                tier,
                tuple(versions[pair]),
                now,
                extra_reasons=() if mood is None else (f"sentiment:{mood.score:+.4f}({mood.coverage})",),
            )
            if isinstance(out, Signal):
                signals.append(out)
            else:
                self._block(out, blocks)
        self.desk.runtime = attrs.evolve(self.desk.runtime, last_cycle_ms=now, cycles=self.desk.runtime.cycles + 1)
        return CycleReport(now, tuple(signals), tuple(blocks), tuple(quiet), tuple(moods.values()))

    # ------------------------------------------------------------ sentiment (issue 15)
    def _sentiment_readings(
        self, pairs: list[str], now: int, probs: dict[str, dict[str, float]], versions: dict[str, list[str]]
    ) -> dict[str, SentimentReading]:
        """Each pair's combined reading over the sources that answered; adds it to `probs` as the
        sentiment member and publishes it on the `sentiment` topic."""
        out: dict[str, SentimentReading] = {}
        if not self.sentiment:
            return out
        for pair in pairs:
            got = [r for r in (src.reading(pair, now) for src in self.sentiment) if r is not None]
            mood = combine(got)
            self.bus.publish(
                "sentiment",
                {
                    "pair": pair,
                    "at_ms": now,
                    "mode": self.desk.mode.value,
                    "score": None if mood is None else mood.score,
                    "coverage": 0 if mood is None else mood.coverage,
                    "sources": [s.name for s in self.sentiment],
                },
            )
            if mood is None or mood.score is None:
                continue
            out[pair] = mood
            probs[pair][SENTIMENT_MEMBER] = as_prob_up(mood.score)
            versions[pair].append(f"{SENTIMENT_MEMBER}:{'+'.join(s.name for s in self.sentiment)}")
        return out

    def _stop_atr(self, c: Candles) -> npt.NDArray[np.float64]:
        """The stop ATR over the newest atr_window + regime_window bars: what a cycle reads (the last
        value for the levels, the last regime_window values for the regime) is defined there, and each
        value depends only on its own atr_window + 1 bars (domain.volatility), so it is the value the
        whole look-back gives."""
        k = self.settings.atr_window + self.settings.regime_window
        return stop_atr(c.high[-k:], c.low[-k:], c.close[-k:], self.settings.atr_window)

    def _score(
        self, candles: dict[str, Candles], probs: dict[str, dict[str, float]], now: int
    ) -> tuple[ConfidenceBatch, dict[str, npt.NDArray[np.float64]]]:
        """The confidence of the newest bar of each pair, one row per pair: the session booster at
        `now`, the regime booster from each pair's stop ATR. Returns the batch and its columns (model
        name -> up-probability per pair, NaN where that model gave none)."""
        pairs = list(candles)
        names = sorted({*self.confidence.weights.as_dict(), *(k for p in pairs for k in probs[p])})
        cols = {k: np.array([probs[p].get(k, math.nan) for p in pairs], dtype=np.float64) for k in names}
        w = self.settings.regime_window
        atrs = [self._stop_atr(candles[p]) for p in pairs]  # a pair in `candles` has a closed bar
        codes = np.array([int(regime_codes(a, w, rows=np.array([len(a) - 1]))[0]) for a in atrs], dtype=np.int64)
        cb = score_batch(cols, self.confidence, ts_ms=np.full(len(pairs), now, dtype=np.int64), regime_codes=codes)
        return cb, cols

    def emit(
        self,
        pair: str,
        c: Candles,
        res: ConfidenceResult,
        tier: Tier,
        versions: tuple[str, ...],
        now: int,
        *,
        extra_reasons: tuple[str, ...] = (),
        check_rate_limit: bool = True,
    ) -> Signal | Block:
        """Policy + guard, then (on allow) log, record, notify, publish. Returns the Signal or the Block."""
        direction = res.direction
        fill: Fill | None = None
        bid, ask = self.broker.quote(pair)
        entry = ask if direction is Direction.LONG else bid
        tp, sl = self.levels(c, direction, entry)
        sid = f"{self.settings.signal_id_prefix}{pair.replace('/', '')}-{now}-{direction.value}"
        if self.settings.execute:
            ex = execute_guarded(
                self.desk,
                self.broker,
                now,
                sid,
                pair,
                direction,
                entry,
                sl,
                tp,
                tier,
                notifier=self.notifier,
                check_rate_limit=check_rate_limit,
                intents=self.intents,
            )
            fill = ex.fill
            if ex.block is not None:
                return attrs.evolve(ex.block, confidence=res.confidence)
            if ex.fill is not None:
                entry = ex.fill.fill_price
        else:
            pt = pre_trade(
                self.desk,
                self.broker,
                now,
                pair,
                direction,
                entry,
                sl,
                tier,
                notifier=self.notifier,
                check_rate_limit=check_rate_limit,
            )
            if pt.block is not None:
                return attrs.evolve(pt.block, confidence=res.confidence)
        sig = Signal(
            sid,
            pair,
            direction,
            tier,
            res.confidence,
            entry,
            tp,
            sl,
            reward_risk(entry, tp, sl),
            now,
            versions,
            (*res.reasons, *extra_reasons),
            self.desk.mode,
        )
        self.desk.set_policy(pol.record_emit(self.desk.policy_cfg, self.desk.policy, tier, now))
        session = primary_session(now)
        self._record(
            sig,
            TradeRecord(
                sig.signal_id,
                pair,
                tier,
                now,
                entry,
                tp,
                sl,
                sig.rr,
                mode=self.desk.mode,
                model_version=",".join(versions),
                session=session.value if session else "",
            ),
            fill,
        )
        try:
            self.notifier.send_signal(sig)
            self.signal_log.mark_sent(sig.signal_id)
        except Exception:  # stays "pending" in the outbox; the runtime resends it
            log.exception("could not send signal %s; left pending", sig.signal_id)
        self.bus.publish("signals", signal_payload(sig))
        return sig
