"""Checks the runtime makes once at start, before its first cycle.

- Quote coherence: every signal's entry is the broker's quote, every outcome is resolved from the
  market data's bars. When the two disagree (a replay of history against a terminal quoting today's
  prices, a wrong FTMO symbol mapping) every outcome is fiction: a long entered at 40,000 against bars
  at 114,000 "hits" its target on the first bar. So the runtime refuses to start.
- Compliance (domain.compliance): each finding is a warning, logged and printed; the module defines no
  hard violation, so no mode refuses on one.
- Reconciliation (services.reconciliation): when the runtime sends orders, the broker's positions and
  fills against the risk book; differences are reported and resolved without duplicate orders (an
  order is only ever re-sent with its original client id, and only when asked to).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import attrs

from domain.compliance import ComplianceFinding, check
from domain.errors import UserError
from domain.market import Timeframe
from domain.signals import Mode
from ports.broker import Broker
from ports.errors import BrokerError
from ports.market_data import MarketData
from ports.storage import OrderIntentRepository, RiskBookRepository, StorageUnitOfWork
from services.reconciliation import ReconciliationReport, reconcile, resolve_intents

# Broker CFD and exchange spot prices of one coin differ by basis and spread, well under 1%; a gap
# this wide means the two feeds are not the same market (or not the same moment).
QUOTE_TOLERANCE_PCT = 2.0


class QuoteMismatch(UserError):
    """The broker's quotes are not the prices of the market data the outcomes are resolved from."""


@attrs.frozen
class QuoteGap:
    pair: str
    broker_mid: float
    last_close: float
    close_ms: int

    @property
    def pct(self) -> float:
        return abs(self.broker_mid - self.last_close) / self.last_close * 100.0


def quote_gaps(broker: Broker, market: MarketData, pairs: Sequence[str], tf: Timeframe, now_ms: int) -> list[QuoteGap]:
    """For each pair with a closed bar at now_ms: the broker's mid against that bar's close."""
    out = []
    for pair in pairs:
        bars = market.candles(pair, tf, now_ms - 3 * tf.ms, now_ms).closed_before(now_ms)
        if len(bars) == 0:
            continue
        try:
            bid, ask = broker.quote(pair)
        except BrokerError:
            continue  # no quote yet: nothing to compare (emission reports its own error)
        out.append(QuoteGap(pair, (bid + ask) / 2, float(bars.close[-1]), int(bars.ts[-1]) + tf.ms))
    return out


def check_quotes(
    broker: Broker,
    market: MarketData,
    pairs: Sequence[str],
    tf: Timeframe,
    now_ms: int,
    *,
    broker_kind: str,
    replay: bool,
    log: logging.Logger,
    tolerance_pct: float = QUOTE_TOLERANCE_PCT,
) -> list[QuoteGap]:
    """Raise QuoteMismatch when any pair's broker mid is more than tolerance_pct off the last close."""
    gaps = quote_gaps(broker, market, pairs, tf, now_ms)
    for g in gaps:
        log.info(
            "quote_check",
            extra={
                "ctx": {
                    "pair": g.pair,
                    "broker_mid": g.broker_mid,
                    "last_close": g.last_close,
                    "gap_pct": round(g.pct, 3),
                }
            },
        )
    bad = [g for g in gaps if g.pct > tolerance_pct]
    if bad:
        what = "; ".join(f"{g.pair} broker {g.broker_mid:g} vs last close {g.last_close:g} ({g.pct:.1f}%)" for g in bad)
        hint = (
            (
                f"a replay resolves signals on the historical candles, but the {broker_kind} broker quotes "
                "other prices: replay with --broker paper (or mock)"
            )
            if replay
            else (f"check the {broker_kind} broker's symbol mapping and that the market data is current")
        )
        raise QuoteMismatch(
            f"broker quotes disagree with the market data by more than {tolerance_pct:g}%: {what}; {hint}"
        )
    return gaps


def compliance_findings(config: Any, log: logging.Logger, out: TextIO | None = None) -> list[ComplianceFinding]:
    """Log (and print to `out`) every compliance finding as a warning."""
    from composition.settings import compliance_settings

    findings = check(compliance_settings(config))
    for f in findings:
        log.warning("compliance_warning", extra={"ctx": {"code": f.code, "setting": f.setting, "message": f.message}})
        if out is not None:
            print(f"compliance warning [{f.code}] {f.setting}: {f.message}", file=out)
    return findings


def reconcile_at_start(
    broker: Broker,
    book: RiskBookRepository,
    mode: Mode,
    log: logging.Logger,
    out: TextIO | None = None,
    *,
    intents: OrderIntentRepository | None = None,
    unit_of_work: Callable[[], StorageUnitOfWork] | None = None,
    now_ms: int = 0,
) -> ReconciliationReport:
    """Pending order intents resolved against the broker first, then broker positions/fills vs the risk
    book (no resubmission: nothing is re-sent at start)."""
    resolved = resolve_intents(broker, book, intents, mode, now_ms, unit_of_work) if intents is not None else []
    report = reconcile(broker, book, mode)
    report = ReconciliationReport((*resolved, *report.findings))
    counts: dict[str, int] = {}
    for f in report.findings:
        counts[f.kind] = counts.get(f.kind, 0) + 1
        if f.kind != "matched":
            log.warning(
                "reconciliation_difference",
                extra={
                    "ctx": {
                        "kind": f.kind,
                        "client_order_id": f.client_order_id,
                        "position_id": f.position_id,
                        "detail": f.detail,
                    }
                },
            )
            if out is not None:
                print(
                    f"reconciliation: {f.kind} {f.client_order_id or '-'} {f.position_id} {f.detail}".rstrip(), file=out
                )
    log.info("reconciliation_done", extra={"ctx": {"mode": mode.value, "clean": report.clean, "counts": counts}})
    return report
