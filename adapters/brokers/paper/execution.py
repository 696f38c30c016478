"""PaperBroker: a Broker that fills through the empirical execution model.

Each order draws (spread, slippage, latency penalty) from the injected cost model with a seeded
generator, so a dry-run with the same seed and prices fills the same way the backtest would.
Prices are the latest candle closes (mid); the quote is mid +/- half the pair's last drawn spread.
Open positions are marked at the quote side they would close on (long at bid, short at ask), so
equity always includes floating P&L.

Stops and targets are checked on every call. With a bar source (the runtime's: `LatestClose.bars`),
every closed bar opening at or after the entry is resolved on its high/low by the rule the outcome
tracker uses (domain.trade_resolution): a wick that touches the stop closes the position at the stop
even if the bar closes back above it; a bar opening beyond the stop exits at its open; both touched
in one bar -> stop. Stop exits are market orders, slipped adversely by a fresh cost draw; targets are
limit orders at their price. Prices newer than the last closed bar (or a source without bars, such as
a hand-set board) fall back to the quote: a stop is hit when the side it closes on crosses it.

The margin check of a new order uses the account exactly as `account()` reports it to the sizing
(AccountState.free_margin, SymbolSpec.margin_for): it is taken before the order's own cost draw, which
re-marks the pair's open positions at the newly drawn spread.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import attrs
import numpy as np

from adapters.brokers import records
from adapters.brokers.paper.config import PaperConfig
from adapters.brokers.paper.data import BarSource, PriceSource
from domain.errors import CorruptFile
from domain.market import Session, primary_session
from domain.signals import Direction
from domain.trade_resolution import first_bar_open_ms, first_exit
from domain.trading import AccountState, Fill, OrderRequest, Position, SymbolSpec
from ports.clock import Clock
from ports.errors import InsufficientMargin, OrderRejected, UnknownPosition, UnknownSymbol


class CostDrawLike(Protocol):
    # read-only members: the draws are frozen (domain.execution_costs.CostDraw)
    @property
    def spread_bps(self) -> float: ...

    @property
    def slippage_bps(self) -> float: ...

    @property
    def latency_penalty_bps(self) -> float: ...


class CostModel(Protocol):
    """domain.execution_costs.ExecutionModel satisfies this."""

    def sample(self, pair: str, session: Any, rng: np.random.Generator, latency_ms: float) -> CostDrawLike: ...


def default_session(at_ms: int) -> Session:
    # Hours outside every session (21-24 UTC by default) trade like the late US session.
    return primary_session(at_ms) or Session.NEW_YORK


class PaperBroker:
    """See the module docstring. Thread-safe: one lock around every operation."""

    def __init__(
        self,
        config: PaperConfig,
        price_source: PriceSource,
        cost_model: CostModel,
        clock: Clock,
        session_of: Callable[[int], Any] = default_session,
        bar_source: BarSource | None = None,
    ) -> None:
        self._cfg = config
        self._bars = bar_source
        # the account's leverage sets every symbol's margin: margin = notional / leverage
        self._specs = {p: attrs.evolve(s, margin_rate=1.0 / config.leverage) for p, s in config.specs.items()}
        self._prices = price_source
        self._costs = cost_model
        self._clock = clock
        self._session_of = session_of
        self._lock = threading.RLock()
        seeds = np.random.SeedSequence(config.seed).spawn(2)
        self._fill_rng = np.random.default_rng(seeds[0])
        self._quote_rng = np.random.default_rng(seeds[1])
        self._balance = config.initial_balance
        self._positions: dict[str, Position] = {}
        self._fills: list[Fill] = []
        self._orders: dict[str, Fill] = {}  # client_order_id -> opening fill (idempotence)
        self._spread_bps: dict[str, float] = {}
        # position id -> time from which closed bars still have to be checked (entry, last checked bar's
        # close, or the last stop change: a new stop never applies to bars that closed before it)
        self._bars_from: dict[str, int] = {}
        self._next_id = 1
        if config.state_path and Path(config.state_path).is_file():
            self._load(Path(config.state_path))

    # --- Broker port -------------------------------------------------------------------------------

    def account(self) -> AccountState:
        with self._lock:
            self._check_stops()
            floating = 0.0
            margin = 0.0
            for pos in self._positions.values():
                spec = self.symbol_info(pos.pair)
                floating += pos.pnl_at(self._exit_price(pos), spec.contract_size)
                margin += spec.margin_for(pos.volume, pos.entry)
            return AccountState(
                balance=self._balance,
                equity=self._balance + floating,
                margin=margin,
                currency=self._cfg.currency,
                initial_balance=self._cfg.initial_balance,
            )

    def positions(self) -> list[Position]:
        with self._lock:
            self._check_stops()
            return sorted(self._positions.values(), key=lambda p: (p.opened_at_ms, p.position_id))

    def place_order(self, req: OrderRequest) -> Fill:
        with self._lock:
            if req.client_order_id in self._orders:
                return self._orders[req.client_order_id]
            spec = self.symbol_info(req.pair)
            volume = spec.floor_volume(req.volume)
            if volume <= 0 or abs(volume - req.volume) > 1e-9:
                raise OrderRejected(
                    f"{req.pair}: volume {req.volume} is not a multiple of {spec.lot_step} "
                    f"within [{spec.min_lot}, {spec.max_lot}]"
                )
            mid, _ = self._prices(req.pair)
            now = self._clock.now_ms()
            # The account the sizing read: taken before this order's cost draw re-marks the pair's positions.
            free = self.account().free_margin
            draw = self._costs.sample(req.pair, self._session_of(now), self._fill_rng, self._cfg.latency_ms)
            adverse_bps = draw.spread_bps / 2 + draw.slippage_bps + draw.latency_penalty_bps
            fill_price = spec.round_price(mid * (1 + req.direction.sign * adverse_bps / 1e4))
            _check_stops_side(req.direction, fill_price, req.sl, req.tp, req.pair)
            needed = spec.margin_for(volume, fill_price)
            if needed > free:
                raise InsufficientMargin(
                    f"{req.pair}: {volume} lots need {needed:.2f} margin at {fill_price}, free {free:.2f}"
                )
            self._spread_bps[req.pair] = float(draw.spread_bps)
            requested = req.entry_hint if req.entry_hint is not None else mid
            pos = Position(
                position_id=f"P{self._next_id:08d}",
                pair=req.pair,
                direction=req.direction,
                volume=volume,
                entry=fill_price,
                sl=req.sl,
                tp=req.tp,
                opened_at_ms=now,
                client_order_id=req.client_order_id,
            )
            self._next_id += 1
            fill = Fill(
                client_order_id=req.client_order_id,
                pair=req.pair,
                requested_price=requested,
                fill_price=fill_price,
                volume=volume,
                at_ms=now,
                latency_ms=self._cfg.latency_ms,
                position_id=pos.position_id,
                direction=req.direction,
            )
            self._balance -= self._cfg.commission_per_lot * volume
            self._positions[pos.position_id] = pos
            self._orders[req.client_order_id] = fill
            self._fills.append(fill)
            self._save()
            return fill

    def close_position(self, position_id: str) -> Fill:
        with self._lock:
            self._check_stops()
            pos = self._positions.get(position_id)
            if pos is None:
                raise UnknownPosition(f"no open position {position_id!r}")
            requested = self._exit_price(pos)
            draw = self._draw(pos.pair)
            spec = self.symbol_info(pos.pair)
            price = spec.round_price(
                requested * (1 - pos.direction.sign * (draw.slippage_bps + draw.latency_penalty_bps) / 1e4)
            )
            return self._close(pos, requested, price, self._cfg.latency_ms)

    def modify_position(self, position_id: str, sl: float | None, tp: float | None) -> None:
        with self._lock:
            self._check_stops()
            pos = self._positions.get(position_id)
            if pos is None:
                raise UnknownPosition(f"no open position {position_id!r}")
            new_sl = pos.sl if sl is None else sl
            _check_stops_side(pos.direction, self._exit_price(pos), new_sl, tp, pos.pair)
            self._positions[position_id] = _evolve(pos, sl=new_sl, tp=tp)
            self._bars_from[position_id] = max(self._bars_from.get(position_id, 0), self._clock.now_ms())
            self._save()

    def symbol_info(self, pair: str) -> SymbolSpec:
        try:
            return self._specs[pair]
        except KeyError:
            served = ", ".join(sorted(self._specs))
            raise UnknownSymbol(f"paper broker does not trade {pair!r}; it trades {served}") from None

    def quote(self, pair: str) -> tuple[float, float]:
        with self._lock:
            self.symbol_info(pair)
            mid, _ = self._prices(pair)
            half = self._spread_for(pair) / 2e4
            return mid * (1 - half), mid * (1 + half)

    def fills(self, since_ms: int = 0) -> list[Fill]:
        with self._lock:
            self._check_stops()
            return [f for f in self._fills if f.at_ms >= since_ms]

    # --- extra (not in the port) --------------------------------------------------------------------

    def note_spread(self, pair: str, spread_bps: float) -> None:
        """Record an externally observed spread (e.g. a bid/ask snapshot); quotes use it until the next
        fill draws a new one."""
        if spread_bps < 0:
            raise ValueError(f"{pair}: spread must be >= 0 bps, got {spread_bps}")
        with self._lock:
            self._spread_bps[pair] = float(spread_bps)

    def refresh(self) -> None:
        """Apply the latest prices now: close positions whose stop or target was crossed."""
        with self._lock:
            self._check_stops()

    # --- internals ----------------------------------------------------------------------------------

    def _draw(self, pair: str) -> CostDrawLike:
        draw = self._costs.sample(pair, self._session_of(self._clock.now_ms()), self._fill_rng, self._cfg.latency_ms)
        self._spread_bps[pair] = float(draw.spread_bps)
        return draw

    def _spread_for(self, pair: str) -> float:
        if pair not in self._spread_bps:
            draw = self._costs.sample(pair, self._session_of(self._clock.now_ms()), self._quote_rng, 0.0)
            self._spread_bps[pair] = float(draw.spread_bps)
        return self._spread_bps[pair]

    def _exit_price(self, pos: Position) -> float:
        bid, ask = self.quote(pos.pair)
        return bid if pos.direction is Direction.LONG else ask

    def _check_stops(self) -> None:
        for pos in sorted(self._positions.values(), key=lambda p: (p.opened_at_ms, p.position_id)):
            if self._check_bars(pos):
                continue
            _, price_at = self._prices(pos.pair)
            if price_at < self._bars_from.get(pos.position_id, 0):
                continue  # the latest price is a bar already resolved on its high/low above
            price = self._exit_price(pos)
            s = pos.direction.sign
            if s * (price - pos.sl) <= 0:
                self._stop_out(pos, pos.sl)
            elif pos.tp is not None and s * (price - pos.tp) >= 0:
                self._close(pos, pos.tp, pos.tp, 0.0)  # a limit order fills at its price

    def _check_bars(self, pos: Position) -> bool:
        """Resolve `pos` on the closed bars not yet checked (domain.trade_resolution); True if it closed."""
        if self._bars is None:
            return False
        candles = self._bars(pos.pair)
        period = getattr(getattr(candles, "timeframe", None), "ms", None)
        ts = np.asarray(getattr(candles, "ts", ()), dtype=np.int64)
        if not period or ts.shape[0] == 0:
            return False
        now = self._clock.now_ms()
        start = first_bar_open_ms(max(pos.opened_at_ms, self._bars_from.get(pos.position_id, 0)), int(period))
        sel = (ts >= start) & (ts + period <= now)
        if not bool(sel.any()):
            return False
        closes_at = ts[sel] + int(period)
        hit = first_exit(
            pos.direction.sign,
            pos.sl,
            pos.tp,
            np.asarray(candles.open)[sel],
            np.asarray(candles.high)[sel],
            np.asarray(candles.low)[sel],
        )
        self._bars_from[pos.position_id] = int(closes_at[-1])
        if hit is None:
            return False
        at_ms = int(closes_at[hit.index])  # stamped like the outcome tracker: the close of the bar that hit
        if hit.how == "sl":
            self._stop_out(pos, hit.price, at_ms)
        else:
            self._close(pos, hit.price, hit.price, 0.0, at_ms)
        return True

    def _stop_out(self, pos: Position, requested: float, at_ms: int | None = None) -> None:
        # The stop is a market order once touched: it fills at `requested` (the stop, or the open of a bar
        # that gapped through it), slipped adversely by a fresh draw.
        draw = self._draw(pos.pair)
        fill = self.symbol_info(pos.pair).round_price(requested * (1 - pos.direction.sign * draw.slippage_bps / 1e4))
        self._close(pos, requested, fill, 0.0, at_ms)

    def _close(
        self, pos: Position, requested: float, price: float, latency_ms: float, at_ms: int | None = None
    ) -> Fill:
        spec = self.symbol_info(pos.pair)
        self._balance += pos.pnl_at(price, spec.contract_size) - self._cfg.commission_per_lot * pos.volume
        del self._positions[pos.position_id]
        self._bars_from.pop(pos.position_id, None)
        at = self._clock.now_ms() if at_ms is None else at_ms
        fill = Fill(
            client_order_id=pos.client_order_id,
            pair=pos.pair,
            requested_price=requested,
            fill_price=price,
            volume=pos.volume,
            at_ms=max(at, pos.opened_at_ms),
            latency_ms=latency_ms,
            position_id=pos.position_id,
            direction=pos.direction.opposite,
        )
        self._fills.append(fill)
        self._save()
        return fill

    # --- persistence (optional) ------------------------------------------------------------------------

    def _save(self) -> None:
        if not self._cfg.state_path:
            return
        state = {
            "balance": self._balance,
            "next_id": self._next_id,
            "positions": [records.position_to(p) for p in self._positions.values()],
            "fills": [records.fill_to(f) for f in self._fills],
            "orders": sorted(self._orders),
            "spread_bps": self._spread_bps,
            "bars_from": self._bars_from,
            "rng": [self._fill_rng.bit_generator.state, self._quote_rng.bit_generator.state],
        }
        path = Path(self._cfg.state_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic: a crash leaves the old or the new state, never half of one

    def _load(self, path: Path) -> None:
        try:
            self._restore(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            raise CorruptFile(
                f"paper broker state {path} is corrupt ({type(exc).__name__}: {str(exc)[:80]}); move it away to "
                "start the paper account afresh, or restore it from a backup"
            ) from None

    def _restore(self, state: Any) -> None:
        self._balance = float(state["balance"])
        self._next_id = int(state["next_id"])
        self._positions = {d["position_id"]: records.position_from(d) for d in state["positions"]}
        self._fills = [records.fill_from(d) for d in state["fills"]]
        opening = {f.client_order_id: f for f in reversed(self._fills)}
        self._orders = {coid: opening[coid] for coid in state["orders"] if coid in opening}
        self._spread_bps = {k: float(v) for k, v in state["spread_bps"].items()}
        self._bars_from = {k: int(v) for k, v in state.get("bars_from", {}).items()}
        self._fill_rng.bit_generator.state = state["rng"][0]
        self._quote_rng.bit_generator.state = state["rng"][1]


def _check_stops_side(direction: Direction, price: float, sl: float, tp: float | None, pair: str) -> None:
    s = direction.sign
    if not s * (price - sl) > 0:
        raise OrderRejected(f"{pair}: stop loss {sl} is on the wrong side of {price} for a {direction.value}")
    if tp is not None and not s * (tp - price) > 0:
        raise OrderRejected(f"{pair}: take profit {tp} is on the wrong side of {price} for a {direction.value}")


def _evolve(pos: Position, **changes: Any) -> Position:
    return attrs.evolve(pos, **changes)
