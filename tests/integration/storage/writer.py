"""A writer process for the durability tests: emits signals in a loop the way the runtime does.

    python -m tests.integration.storage.writer URL PREFIX COUNT [PATTERN_HASH]

Each cycle writes the signal (pending) and its risk-book row in one unit of work, commits, prints
the signal id (flushed: printed means committed), then "notifies" and marks it sent. With a
PATTERN_HASH it also records one outcome per cycle on that shared pattern counter.
"""

from __future__ import annotations

import sys

from adapters.storage.unit_of_work import SqlStorage
from domain.risk_book import TradeRecord
from domain.signals import Direction, Mode, Signal, Tier


def main(url: str, prefix: str, count: int, pattern_hash: str = "") -> None:
    storage = SqlStorage.open(url)
    for i in range(count):
        sid = f"{prefix}-{i:05d}"
        signal = Signal(
            sid,
            "BTC/USDT",
            Direction.LONG,
            Tier.HIGH,
            0.7,
            100.0,
            110.0,
            95.0,
            2.0,
            1_000 + i,
            ("lstm:v1",),
            ("test",),
            Mode.DRYRUN,
        )
        record = TradeRecord(
            sid, "BTC/USDT", Tier.HIGH, 1_000 + i, 100.0, 110.0, 95.0, 2.0, model_version="lstm:v1", session="london"
        )
        with storage.unit_of_work() as uow:
            uow.signal_log.log_signal(signal)
            uow.risk_book.add(record)
            uow.commit()
        print(sid, flush=True)
        storage.signal_log.mark_sent(sid)
        if pattern_hash:
            storage.patterns.record_outcome("shared", pattern_hash, i % 2 == 0)
    storage.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), *(sys.argv[4:5]))
