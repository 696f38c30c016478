"""Signals, tiers, predictions and blocks: the vocabulary of one scan's outcome.

Confidence is a probability in [0, 1] that the signal's direction is right (shown to users as a
percentage). Thresholds are in the same unit.
"""

from __future__ import annotations

import enum
from typing import Final

import attrs

from domain.errors import ConfigError


class Mode(enum.StrEnum):
    """Where a signal or trade came from; every record and message carries it.

    REPLAY is a `trading-ai run --replay-from` (the demo's replayed dry-run included): its signals,
    blocks, trades, order intents, runtime state, FTMO ledger and log lines are recorded under it, so
    a dry-run or live process, which reads only its own mode, never sees them."""

    DRYRUN = "dryrun"
    LIVE = "live"
    BACKTEST = "backtest"
    DEMO = "demo"
    REPLAY = "replay"


class Direction(enum.Enum):
    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        return 1 if self is Direction.LONG else -1

    @property
    def opposite(self) -> Direction:
        return Direction.SHORT if self is Direction.LONG else Direction.LONG


class Tier(enum.IntEnum):
    """Signal strength, ordered NONE < LOW < MEDIUM < HIGH."""

    NONE = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @classmethod
    def parse(cls, text: str | Tier) -> Tier:
        if isinstance(text, Tier):
            return text
        try:
            return cls[str(text).strip().upper()]
        except KeyError:
            valid = ", ".join(t.name for t in cls)
            raise ConfigError(f"unknown tier {text!r}; valid tiers: {valid}") from None


def _check_thresholds(inst: TierThresholds, _a: object, _v: object) -> None:
    if not (0.0 <= inst.low <= inst.medium <= inst.high <= 1.0):
        raise ConfigError(
            f"tier thresholds must satisfy 0 <= low <= medium <= high <= 1, got "
            f"low={inst.low} medium={inst.medium} high={inst.high}"
        )


@attrs.frozen
class TierThresholds:
    """Minimum confidence for each tier (inclusive); applied by `domain.tiering.raw_tiers_batch`."""

    low: float = attrs.field(default=0.55, converter=float)
    medium: float = attrs.field(default=0.60, converter=float)
    high: float = attrs.field(default=0.68, converter=float, validator=_check_thresholds)

    def threshold(self, tier: Tier) -> float:
        if tier is Tier.NONE:
            return 0.0
        return {Tier.LOW: self.low, Tier.MEDIUM: self.medium, Tier.HIGH: self.high}[tier]

    def with_threshold(self, tier: Tier, value: float) -> TierThresholds:
        """A copy with one tier's threshold changed; raises ConfigError if the order breaks."""
        if tier is Tier.NONE:
            raise ConfigError("tier NONE has no threshold")
        return attrs.evolve(self, **{tier.name.lower(): float(value)})


@attrs.frozen
class Prediction:
    """One model's opinion on one pair: probability that the next move is up."""

    pair: str
    prob_up: float = attrs.field(converter=float)
    model_name: str
    model_version: str

    @prob_up.validator
    def _in_unit(self, _a: object, v: float) -> None:
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"prob_up must be in [0, 1], got {v}")


@attrs.frozen
class Signal:
    """An emitted trade idea. `rr` is reward/risk = |tp-entry| / |entry-sl|."""

    signal_id: str
    pair: str
    direction: Direction
    tier: Tier
    confidence: float
    entry: float
    tp: float
    sl: float
    rr: float
    created_at_ms: int
    model_versions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    mode: Mode = Mode.DRYRUN

    def __attrs_post_init__(self) -> None:
        s = self.direction.sign
        if not (s * (self.tp - self.entry) > 0 and s * (self.entry - self.sl) > 0):
            raise ValueError(
                f"signal {self.signal_id}: tp/sl on the wrong side for {self.direction.value} "
                f"(entry={self.entry}, tp={self.tp}, sl={self.sl})"
            )

    @property
    def sl_distance(self) -> float:
        return abs(self.entry - self.sl)


class BlockReason(enum.StrEnum):
    """Why a candidate signal or order was not emitted. Stored as the code string."""

    KILL_SWITCH = "kill_switch"
    RATE_LIMIT = "rate_limit"
    RATE_LIMIT_TIER = "rate_limit_tier"
    HALTED = "halted"
    DAILY_LOSS = "daily_loss"
    MAX_LOSS = "max_loss"
    BELOW_MIN_LOT = "below_min_lot"
    TIER_NONE = "tier_none"
    HYSTERESIS = "hysteresis"
    NO_PREDICTION = "no_prediction"
    NO_DATA = "no_data"
    MARKET_CLOSED = "market_closed"
    BROKER_ERROR = "broker_error"
    INSUFFICIENT_MARGIN = "insufficient_margin"  # appended last: the batch engine's codes stay stable
    SENTIMENT = "sentiment"  # a signal against strong sentiment (|score| >= the configured bound)
    MAX_OPEN_POSITIONS = "max_open_positions"  # MAX_OPEN_POSITIONS positions are open already
    MAX_POSITIONS_PER_PAIR = "max_positions_per_pair"  # MAX_POSITIONS_PER_PAIR positions of this pair are open


# The integer code of each reason, for arrays and compiled code (0 = no block): the batch engine's block
# column and domain.decision's compiled decision. Stable: new reasons are appended.
BLOCK_CODES: Final[dict[BlockReason, int]] = {r: i + 1 for i, r in enumerate(BlockReason)}
REASON_OF_CODE: Final[dict[int, BlockReason]] = {v: k for k, v in BLOCK_CODES.items()}


@attrs.frozen
class Block:
    """A candidate that was stopped, with a reason code and a human-readable detail."""

    pair: str
    reason: BlockReason
    detail: str
    at_ms: int
    tier: Tier = Tier.NONE
    confidence: float | None = None
    mode: Mode = Mode.DRYRUN


def reward_risk(entry: float, tp: float, sl: float) -> float:
    """Reward-to-risk ratio |tp-entry| / |entry-sl|."""
    risk = abs(entry - sl)
    if risk <= 0:
        raise ValueError("stop loss distance must be positive")
    return abs(tp - entry) / risk
