"""The composition root: dependency-injector containers that pick adapters from the config.

`RuntimeContainer` builds the dry-run/live service: clock (wall or replay), market data (Binance
via ccxt, or the bundled real candles replayed under a fake clock), broker (paper, REST shim, MT5,
MetaAPI via the brokers factory; mock only outside live), SQL storage, runtime-state store,
notifier (Telegram when a token is set, else console), predictors (the promoted models when the
training side provides them, else the named momentum baseline), and the services over them.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime
from typing import Any

import attrs
from dependency_injector import containers, providers

from composition.config import Config
from composition.settings import kernel_settings
from domain.errors import CorruptFile, UserError
from domain.ftmo import FtmoRules
from domain.market import MS_PER_DAY, Timeframe
from domain.policy import PolicyConfig
from domain.settings import KernelSettings
from domain.signals import Mode

BASELINE_NOTE = "no promoted model available: using the untrained momentum baseline (momentum:baseline-1)"


class LiveRefused(UserError):
    """Live mode's preconditions are not met; the message says which."""


class BrokerUnavailable(UserError):
    """The configured broker cannot be reached (or refuses the connection) when the runtime starts."""


@attrs.frozen
class RunOptions:
    mode: str = "dryrun"
    replay_from_ms: int | None = None
    replay_to_ms: int | None = None
    speed: float | None = None  # None = as fast as possible (replay only)
    broker: str | None = None
    shim_url: str | None = None
    cycles: int | None = None
    database_url: str | None = None
    cost_model: str = "empirical"
    spread_bps: float | None = None
    slippage_bps: float | None = None
    health: bool = True
    health_port: int | None = None
    dashboard_port: int | None = None  # None: config runtime.dashboard_port; -1 off, 0 any free port
    telegram: bool = True
    allow_ungated_model: bool = False
    console_signals: bool = True
    stale_after_s: float | None = None

    @property
    def replay(self) -> bool:
        return self.replay_from_ms is not None

    @property
    def record_mode(self) -> Mode:
        """The mode this run records every row and log line under: `replay` for a replay (whatever
        --mode says), so a dry-run or live process, which reads only its own mode, never sees a replay's
        signals, blocks, trades, order intents, runtime state or FTMO ledger."""
        return Mode.REPLAY if self.replay else Mode(self.mode)


def parse_date_ms(text: str, what: str) -> int:
    try:
        d = datetime.strptime(text.strip(), "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise UserError(f"{what} {text!r} is not a date YYYY-MM-DD") from None
    return int(d.timestamp() * 1000)


# --- factories (small, each one adapter choice) --------------------------------------------------------


def make_clock(options: RunOptions) -> Any:
    from composition.runtime.clocks import ReplayClock, SystemClock

    if options.replay_from_ms is not None:
        return ReplayClock(options.replay_from_ms, options.speed)
    return SystemClock()


def make_candle_source(config: Config, options: RunOptions) -> Any:
    if options.replay:
        from composition.candles import cleaned_store

        # the one data path: replays read the cleaned store (pairs it lacks are imported first)
        return cleaned_store(config, [(s, Timeframe.parse(config.data.timeframe)) for s in config.data.symbols])
    from adapters.market_data.binance_ccxt import BinanceCcxtMarketData

    return BinanceCcxtMarketData()


def make_market(options: RunOptions, source: Any, clock: Any) -> Any:
    from adapters.market_data.replay import ReplayMarketData

    # Live data too goes through the closed-bar filter against our own clock.
    return ReplayMarketData(source, clock)


def replay_window(config: Config, options: RunOptions, source: Any) -> tuple[int, int]:
    """(start, end) of the replay, checked against the candles actually present."""
    tf = Timeframe.parse(config.data.timeframe)
    start = options.replay_from_ms
    assert start is not None
    ends = []
    for pair in config.data.symbols:
        c = source.candles(pair, tf)
        if len(c) == 0:
            raise UserError(f"no {tf} candles for {pair} in {config.data.candles_dir}")
        ends.append(int(c.ts[-1]) + tf.ms)
        if start < int(c.ts[0]) or start >= ends[-1]:
            first = datetime.fromtimestamp(int(c.ts[0]) / 1000, UTC).date()
            last = datetime.fromtimestamp(int(c.ts[-1]) / 1000, UTC).date()
            raise UserError(f"--replay-from is outside the {tf} candles of {pair} ({first} .. {last})")
    end = min(ends)
    if options.replay_to_ms is not None:
        end = min(end, options.replay_to_ms + MS_PER_DAY)
    return start, end


def make_engine(config: Config, options: RunOptions) -> Any:
    """The runtime's engine; refuses (SchemaOutdated, naming `trading-ai db upgrade`) unless the schema is
    the code's head. Only `trading-ai db upgrade` and the demo migrate."""
    from adapters.storage.engine import open_engine

    return open_engine(options.database_url or config.database.url)


def make_cost_model(config: Config, options: RunOptions, log: logging.Logger) -> Any:
    """The execution-cost model, or None when no metrics file exists and no fixed cost was given.

    The paper broker cannot fill without one (it refuses, naming the fix); the FTMO guard then adds
    its conservative default allowance instead (services.execution.DEFAULT_COST_ALLOWANCE)."""
    from adapters.execution_metrics.cost_model import load_cost_model

    try:
        return load_cost_model(config, options.cost_model, options.spread_bps, options.slippage_bps)
    except UserError as exc:
        log.warning("cost_model_unavailable", extra={"ctx": {"reason": str(exc)}})
        return None


def make_broker(config: Config, options: RunOptions, market: Any, clock: Any, costs: Any = None) -> Any:
    kind = options.broker or config.broker.kind
    if kind == "paper":
        from adapters.brokers.paper.data import LatestClose
        from adapters.brokers.paper.factories import make_paper_broker
        from adapters.execution_metrics.cost_model import load_cost_model

        tf = Timeframe.parse(config.data.timeframe)
        if costs is None:  # raises the refusal that says how to provide costs
            costs = load_cost_model(config, options.cost_model, options.spread_bps, options.slippage_bps)

        def latest(pair: str) -> Any:
            now = clock.now_ms()
            return market.candles(pair, tf, now - 3 * tf.ms, now)

        # Outside a replay the paper account (balance, open positions, fills) survives restarts, so the
        # FTMO floors keep measuring the same equity; a replay always starts from the initial balance.
        state_path = "" if options.replay else os.path.join(config.data.store_dir, f"paper_broker_{options.mode}.json")
        return make_paper_broker(
            config, price_source=LatestClose(latest), cost_model=costs, clock=clock, state_path=state_path
        )
    if kind == "mock":
        if options.mode == "live":
            raise LiveRefused("live mode refuses the mock broker; set BROKER=paper|shim|mt5|metaapi")
        from adapters.brokers.in_memory import InMemoryBroker
        from adapters.brokers.symbols import DEFAULT_SPECS

        return InMemoryBroker(DEFAULT_SPECS.values(), clock, config.risk.initial_balance)
    try:
        from adapters.brokers.factory import make_broker as factory_make_broker
    except ImportError:
        raise UserError(f"broker {kind!r} is not available in this build (adapters.brokers.factory missing)") from None
    cfg = config
    if options.shim_url:
        cfg = attrs.evolve(config, broker=attrs.evolve(config.broker, kind=kind, shim_url=options.shim_url))
    elif kind != config.broker.kind:
        cfg = attrs.evolve(config, broker=attrs.evolve(config.broker, kind=kind))
    from ports.errors import BrokerError

    try:
        return factory_make_broker(cfg)
    except BrokerError as exc:  # unreachable or refusing at start: the setup is wrong, nothing was sent
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BrokerUnavailable(
            f"cannot connect to the {kind} broker at start: {type(exc).__name__}: {first}; "
            "check its URL/credentials and that it is running"
        ) from None


def load_predictors(config: Config, log: logging.Logger) -> tuple[list[Any], Any, bool, str]:
    """(predictors, features fn, gates passed, description). The promoted models when the training
    side can load them; otherwise the named momentum baseline (never passes gates)."""
    from training.predictor import load_runtime_predictors

    try:
        loaded = load_runtime_predictors(config)
    except CorruptFile:
        raise  # a damaged or swapped bundle is refused, never replaced by the baseline silently
    except UserError as exc:
        log.warning("models_unavailable", extra={"ctx": {"reason": str(exc)}})
    else:
        if loaded is not None:
            return loaded
    from domain.backtest.baseline import MomentumSignPredictor

    log.warning("model_fallback", extra={"ctx": {"reason": BASELINE_NOTE}})
    return [MomentumSignPredictor()], (lambda candles: candles), False, BASELINE_NOTE


def initial_state(
    settings: KernelSettings, store: Any, mode: Mode, log: logging.Logger, replay_from_ms: int | None = None
) -> Any:
    """The persisted state if any (operator changes survive restarts), else one from the kernel settings.
    KILL_SWITCH=true in the environment always wins (it can only switch emission off)."""
    from domain import policy as pol
    from ports.runtime_state import RuntimeState

    state = store.load(mode.value)
    if state is not None and replay_from_ms is not None and (state.last_cycle_ms or 0) >= replay_from_ms:
        # A replay's clock cannot run backwards: state saved by a replay that already went past this
        # start (rate-limit windows, streaks, halts on that timeline) does not apply to this one.
        log.info(
            "replay_state_reset",
            extra={"ctx": {"saved_last_cycle_ms": state.last_cycle_ms, "replay_from_ms": replay_from_ms}},
        )
        state = None
    if state is None:
        state = RuntimeState(mode.value, settings.thresholds)
        log.info("state_fresh", extra={"ctx": {"mode": mode.value}})
    else:
        log.info(
            "state_restored",
            extra={
                "ctx": {
                    "mode": mode.value,
                    "kill_switch": state.policy.kill_switch,
                    "cycles": state.cycles,
                    "thresholds": [state.thresholds.low, state.thresholds.medium, state.thresholds.high],
                    "halted_until_ms": state.policy.halted_until_ms,
                }
            },
        )
    if settings.kill_switch and not state.policy.kill_switch:
        state = attrs.evolve(state, policy=pol.set_kill_switch(state.policy, True))
        log.warning("kill_switch_set", extra={"ctx": {"on": True, "by": "environment"}})
    return state


def make_rules(config: Config) -> FtmoRules:
    """The FTMO rules of the kernel settings (composition.settings is the only reader of those fields)."""
    return kernel_settings(config).rules


def make_policy_cfg(config: Config) -> PolicyConfig:
    """The runtime policy of the kernel settings."""
    return kernel_settings(config).policy


def restore_ledger(store: Any, mode: Mode, log: logging.Logger, replay_from_ms: int | None = None) -> Any:
    """The saved FTMO ledger of `mode`, or None (the first cycle starts one from the account). A replay's
    ledger saved past this replay's start does not apply to it (its clock cannot run backwards)."""
    if store is None:
        return None
    ledger = store.load(mode.value)
    if ledger is not None and replay_from_ms is not None and (ledger.last_ms or 0) >= replay_from_ms:
        log.info(
            "ftmo_ledger_reset", extra={"ctx": {"saved_last_ms": ledger.last_ms, "replay_from_ms": replay_from_ms}}
        )
        return None
    if ledger is not None:
        log.info(
            "ftmo_ledger_restored",
            extra={
                "ctx": {
                    "mode": mode.value,
                    "day_start_ms": ledger.day_start_ms,
                    "day_start_balance": ledger.day_start_balance,
                    "max_eod_balance": ledger.max_eod_balance,
                    "trading_days": len(ledger.trading_days),
                    "last_balance": ledger.last_balance,
                    "in_breach": ledger.in_breach,
                }
            },
        )
    return ledger


def make_desk(settings: KernelSettings, state: Any, costs: Any = None) -> Any:
    """The live risk desk on the kernel settings: the backtest engine's rules, policy, sizing, commission
    and latency (EngineConfig.from_settings), so the guard charges the same costs in both."""
    from services.execution import RiskDesk

    return RiskDesk(
        settings.rules,
        settings.policy,
        state,
        risk_per_trade_pct=settings.risk_pct,
        **({"costs": costs} if costs is not None else {}),
        fee_bps=settings.fee_bps,
        latency_ms=settings.latency_ms,
        flatten_on_floor=settings.flatten_on_floor,
        limits=settings.limits,
    )


class RuntimeContainer(containers.DeclarativeContainer):
    """Adapters for the scan service, chosen from Config + RunOptions."""

    config = providers.Dependency(instance_of=Config)
    options = providers.Dependency(instance_of=RunOptions)
    log = providers.Dependency(instance_of=logging.Logger)

    clock = providers.Singleton(make_clock, options)
    candle_source = providers.Singleton(make_candle_source, config, options)
    market = providers.Singleton(make_market, options, candle_source, clock)
    engine = providers.Singleton(make_engine, config, options)
    cost_model = providers.Singleton(make_cost_model, config, options, log)
    broker = providers.Singleton(make_broker, config, options, market, clock, cost_model)
    lock = providers.Singleton(threading.RLock)


def build_storage(engine: Any, now_ms: Any, replay: bool = False) -> dict[str, Any]:
    from adapters.storage.ftmo_ledger import SqlFtmoLedgerStore
    from adapters.storage.runtime_state import SqlRuntimeStateStore
    from adapters.storage.unit_of_work import SqlStorage

    storage = SqlStorage(engine, now_ms)
    return {
        "risk_book": storage.risk_book,
        "patterns": storage.patterns,
        "signal_log": storage.signal_log,
        "unit_of_work": storage.unit_of_work,  # a signal and its risk-book row commit together
        "order_intents": storage.order_intents,  # orders recorded before they are sent
        "state": SqlRuntimeStateStore(engine, namespace="replay" if replay else "runtime"),
        # the FTMO ledger (migration 0005), saved after every cycle, restored at start
        "ledger": SqlFtmoLedgerStore(engine, namespace="replay" if replay else "runtime"),
    }
