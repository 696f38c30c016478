"""Statistics over the risk book: win rate and R by tier, session, pair and model version."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import attrs

from domain.market import MS_PER_DAY
from domain.risk_book import TradeRecord
from domain.signals import Mode


@attrs.frozen
class GroupStats:
    key: str
    trades: int
    wins: int
    total_r: float

    @property
    def win_rate(self) -> float | None:
        return self.wins / self.trades if self.trades else None

    @property
    def avg_r(self) -> float | None:
        return self.total_r / self.trades if self.trades else None


GROUPINGS: dict[str, Callable[[TradeRecord], str]] = {
    "tier": lambda r: r.tier.name,
    "session": lambda r: r.session or "-",
    "pair": lambda r: r.pair,
    "model_version": lambda r: r.model_version or "-",
}


def closed_in_window(
    records: Iterable[TradeRecord], now_ms: int, days: int | None = None, mode: Mode | None = None
) -> list[TradeRecord]:
    """Closed records whose exit falls in the last `days` days (all if None), of one mode if given."""
    since = None if days is None else now_ms - days * MS_PER_DAY
    return [
        r
        for r in records
        if r.result is not None
        and (mode is None or r.mode == mode)
        and (since is None or (r.exit_time_ms is not None and since <= r.exit_time_ms <= now_ms))
    ]


def summarise(records: Sequence[TradeRecord], key: str = "all") -> GroupStats:
    wins = sum(1 for r in records if r.result == "W")
    return GroupStats(key, len(records), wins, float(sum(r.r_realized or 0.0 for r in records)))


def group_stats(records: Sequence[TradeRecord], by: str) -> list[GroupStats]:
    """Stats per group, ordered by key. `by` is one of tier, session, pair, model_version."""
    try:
        keyf = GROUPINGS[by]
    except KeyError:
        raise ValueError(f"unknown grouping {by!r}; valid: {', '.join(GROUPINGS)}") from None
    groups: dict[str, list[TradeRecord]] = {}
    for r in records:
        groups.setdefault(keyf(r), []).append(r)
    return [summarise(v, k) for k, v in sorted(groups.items())]
