"""The composition root: the one dependency-injector container that wires the runtime service.

`RuntimeContainer` carries the whole dry-run/live/replay wiring, chosen from Config + RunOptions:
clock (wall or replay), market data (Binance via ccxt, or the cleaned store replayed under a fake
clock), broker (paper, REST shim, MT5, MetaAPI via the brokers factory; mock only outside live), SQL
storage, runtime-state and FTMO-ledger stores, notifier (Telegram when a token is set, else console),
event bus, predictors (the promoted models when the training side provides them, else the named
momentum baseline), the risk desk, the scan cycle and its plugins, the operator, the outcome tracker,
the runtime cycle and loop, the health server and the dashboard, and the start-up steps (Resources,
each run once) in between. composition.runtime.launch.build_service resolves them in order; nothing
else constructs these parts.
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
from domain.confidence import ConfidenceParams
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


def check_live_preconditions(config: Config, options: RunOptions, gates_passed: bool, log: logging.Logger) -> None:
    """Live needs LIVE_CONFIRM=yes, a real broker and a gated model (or an explicit, logged override).
    Other modes have no such preconditions."""
    if options.mode != Mode.LIVE:
        return
    reasons = []
    if config.broker.live_confirm.strip().lower() != "yes":
        reasons.append("LIVE_CONFIRM is not 'yes'")
    kind = options.broker or config.broker.kind
    if kind in ("mock", "paper"):
        reasons.append(f"broker {kind!r} is not a real account (use shim, mt5 or metaapi)")
    if options.replay:
        reasons.append("live mode cannot replay history")
    if not gates_passed:
        if options.allow_ungated_model:
            log.warning(
                "live_model_override",
                extra={"ctx": {"reason": "--allow-ungated-model: running live on a model that did not pass its gates"}},
            )
        else:
            reasons.append("no promoted model passed its gates (override: --allow-ungated-model, logged)")
    if reasons:
        raise LiveRefused("live mode refused: " + "; ".join(reasons))


def make_replay_window(config: Config, options: RunOptions, source: Any) -> tuple[int | None, int | None]:
    """(start, end) ms of a replay, checked against the candles present; (None, None) outside a replay.
    `source` gives the candle source (called only for a replay)."""
    if not options.replay:
        return None, None
    return replay_window(config, options, source())


SIMULATED_BROKERS = ("paper", "mock")


def places_orders(mode: Mode, broker_kind: str) -> bool:
    """Whether the scan cycle sends orders through the guarded execution path.

    Live always does. Dry-run does only on a simulated broker (paper, mock): its fills, floating P&L and
    equity are what the FTMO guard's daily and total loss floors are measured against, so a dry-run
    without them would never see a loss. A dry-run configured with a real account (shim, mt5,
    metaapi) never sends it an order: the broker only quotes.
    """
    return mode is Mode.LIVE or broker_kind in SIMULATED_BROKERS


def replay_run_prefix() -> str:
    """A short id of this replay run (wall-clock seconds, hex), distinct between runs."""
    import time

    return f"r{time.time_ns() // 1_000_000:x}-"


def runtime_decision(
    config: Config,
    store: Any,
    mode: Mode,
    log: logging.Logger,
    model_names: list[str],
    costs: Any = None,
    replay_from_ms: int | None = None,
    ledger_store: Any = None,
) -> tuple[Any, ConfidenceParams, int]:
    """What the live decision runs on: the risk desk (rules, policy, sizing, commission, latency, restored
    state), the confidence parameters of these models and the hysteresis, all from the one kernel
    settings the backtest, challenge and gates get too (composition.settings)."""
    settings = kernel_settings(config)
    state = initial_state(settings, store, mode, log, replay_from_ms)
    desk = make_desk(settings, state, costs)
    # the FTMO ledger as saved: the first cycle reconciles it with the account (a balance changed while
    # the service was down is booked into its day, the day rolled with the balance at midnight)
    desk.ftmo = restore_ledger(ledger_store, mode, log, replay_from_ms)
    return desk, settings.confidence_for(model_names), settings.hysteresis_scans


def predictor_names(models: tuple[list[Any], Any, bool, str]) -> list[str]:
    return [getattr(p, "name", "") for p in models[0]]


def make_bot(config: Config, options: RunOptions, mode: Mode, log: logging.Logger) -> Any:
    """The Telegram bot when a token is set (never in a replay), else None; its operator is given by
    make_operator."""
    if not (options.telegram and config.telegram.bot_token and not options.replay):
        return None
    from adapters.notifiers.telegram.bot import TelegramBot

    return TelegramBot(
        config.telegram.bot_token,
        config.telegram.allowed_chat_ids,
        None,  # type: ignore[arg-type]
        mode=mode,
        base_url=config.telegram.base_url,
        log=log,
    )


def make_notifier(options: RunOptions, mode: Mode, bot: Any, clock: Any, log: logging.Logger) -> Any:
    """Alerts and signals through Telegram when there is a bot, else the console; throttled and logged."""
    import sys

    from composition.runtime.service import AlertingNotifier

    inner: Any
    if bot is not None:
        from adapters.notifiers.telegram.bot import TelegramNotifier

        inner = TelegramNotifier(bot)
    else:
        from adapters.notifiers.console import ConsoleNotifier

        inner = ConsoleNotifier(sys.stdout, mode, quiet=not options.console_signals)
    return AlertingNotifier(inner, log, clock)


def make_event_bus(config: Config, mode: Mode, log: logging.Logger) -> Any:
    """In-process, or Kafka with EVENT_BUS=kafka (docs/events.md); closed by the service's closers."""
    from composition.events import build_event_bus

    return build_event_bus(config, mode.value, log)


def make_scan(
    config: Config,
    options: RunOptions,
    mode: Mode,
    timeframe: Timeframe,
    models: tuple[list[Any], Any, bool, str],
    decision: tuple[Any, ConfidenceParams, int],
    market: Any,
    broker: Any,
    notifier: Any,
    storage: dict[str, Any],
    bus: Any,
    clock: Any,
) -> Any:
    from domain.settings import live_lookback
    from services.scan_cycle import ScanCycle, ScanSettings

    predictors, features, _gates_passed, _desc = models
    desk, params, hysteresis_scans = decision
    return ScanCycle(
        ScanSettings(
            tuple(config.data.symbols),
            timeframe,
            hysteresis_scans=hysteresis_scans,
            execute=places_orders(mode, options.broker or config.broker.kind),
            signal_id_prefix=replay_run_prefix() if options.replay else "",
            # trained models need their features' warm-up plus a full window each cycle
            lookback_bars=live_lookback(getattr(features, "min_bars", 0)),
        ),
        desk,
        market,
        predictors,
        features,
        broker,
        notifier,
        storage["risk_book"],
        storage["signal_log"],
        bus,
        clock,
        params,
        unit_of_work=storage["unit_of_work"],
        intents=storage["order_intents"],
    )


def wire_scan_plugins(
    config: Config, options: RunOptions, scan: Any, engine: Any, clock: Any, notifier: Any, log: logging.Logger
) -> Any:
    """Sentiment sources, extra predictors and ensemble weights from the plugins, into the scan."""
    from composition.runtime.plugins import wire_plugins

    return wire_plugins(
        config, scan, engine=engine, clock=clock, log=log, replay=options.replay, alert=notifier.send_alert
    )


def warm_up_scan(scan: Any, log: logging.Logger) -> float:
    """Numba compiles and torch initialises here, never on the first live cycle (after the plugins)."""
    from composition.runtime.warmup import warm_up_compiled

    return warm_up_compiled(scan, log)


def make_retrain_runner(config: Config, options: RunOptions, log: logging.Logger) -> Any:
    """The /retrain runner; None in a replay (a replay never starts real training)."""
    if options.replay:
        return None
    from composition.runtime.retrain import RetrainRunner

    return RetrainRunner(log, os.path.join(config.data.store_dir, "logs", "retrain.log"))


def make_operator(
    scan: Any, desk: Any, storage: dict[str, Any], clock: Any, lock: Any, retrain_runner: Any, bot: Any
) -> Any:
    """The operator commands (Telegram, dashboard) over the scan, persisting what they change; the bot,
    when there is one, answers through it."""
    from composition.runtime.service import PersistingOperator
    from services.operator_commands import OperatorService

    operator = PersistingOperator(OperatorService(scan), desk, storage["state"], clock, lock, retrain_runner)
    if bot is not None:
        bot.operator = operator
    return operator


def check_start_quotes(
    config: Config, options: RunOptions, timeframe: Timeframe, broker: Any, market: Any, clock: Any, log: logging.Logger
) -> Any:
    """The broker's quotes against the last closes (QuoteMismatch when far off)."""
    from composition.runtime.startup import check_quotes

    kind = options.broker or config.broker.kind
    return check_quotes(
        broker, market, config.data.symbols, timeframe, clock.now_ms(), broker_kind=kind, replay=options.replay, log=log
    )


def start_compliance(config: Config, log: logging.Logger) -> Any:
    """The compliance findings of this config, logged and printed to stderr."""
    import sys

    from composition.runtime.startup import compliance_findings

    return compliance_findings(config, log, sys.stderr)


def reconcile_start(
    options: RunOptions,
    mode: Mode,
    scan: Any,
    broker: Any,
    storage: dict[str, Any],
    clock: Any,
    log: logging.Logger,
) -> Any:
    """Broker positions, fills and pending order intents against the risk book, when this run places
    orders (else None). A replay's paper account is new each run and never was sent an intent."""
    if not scan.settings.execute:
        return None
    import sys

    from composition.runtime.startup import reconcile_at_start

    return reconcile_at_start(
        broker,
        storage["risk_book"],
        mode,
        log,
        sys.stderr,
        intents=None if options.replay else storage["order_intents"],
        unit_of_work=storage["unit_of_work"],
        now_ms=clock.now_ms(),
    )


def make_tracker(storage: dict[str, Any], market: Any, clock: Any, mode: Mode, timeframe: Timeframe) -> Any:
    from services.outcome_tracking import OutcomeSettings, OutcomeTracker

    return OutcomeTracker(storage["risk_book"], storage["patterns"], market, clock, mode, OutcomeSettings(timeframe))


def make_cycle(
    config: Config,
    scan: Any,
    tracker: Any,
    desk: Any,
    storage: dict[str, Any],
    notifier: Any,
    broker: Any,
    clock: Any,
    log: logging.Logger,
    lock: Any,
) -> Any:
    from composition.runtime.service import RuntimeCycle

    return RuntimeCycle(
        scan=scan,
        tracker=tracker,
        desk=desk,
        state_store=storage["state"],
        notifier=notifier,
        ledger_store=storage["ledger"],
        signal_log=storage["signal_log"],
        broker=broker,
        clock=clock,
        log=log,
        lock=lock,
        policy_cfg=desk.policy_cfg,
        data_dir=os.path.dirname(config.logging.file or ".") or ".",
    )


def make_loop(
    config: Config,
    options: RunOptions,
    cycle: Any,
    clock: Any,
    log: logging.Logger,
    timeframe: Timeframe,
    window: tuple[int | None, int | None],
) -> Any:
    from composition.runtime.loop import ScanLoop

    return ScanLoop(
        cycle,
        clock,
        log,
        interval_s=config.runtime.scan_interval_seconds,
        bar_ms=timeframe.ms,
        grace_ms=0 if options.replay else 2_000,
        max_cycles=options.cycles,
        until_ms=window[1],
    )


def make_checks(config: Config, storage: dict[str, Any], broker: Any, bot: Any, bus: Any) -> dict[str, Any]:
    """/healthz's checks (taken once per cycle into the snapshot the endpoint answers from)."""
    return {
        "db": storage["state"].ping,
        "broker": lambda: _broker_ok(broker),
        "telegram": (lambda: bot.healthy) if bot is not None else (lambda: None),
        "event_bus": lambda: bus.status().get("broker_reachable", True),
    }


def _broker_ok(broker: Any) -> bool:
    broker.account()
    return True


def make_health(config: Config, options: RunOptions, log: logging.Logger, *, probe: Any) -> Any:
    """The /healthz server over `probe` (given by make_parts: it reads the parts), or None (--no-health)."""
    if not options.health:
        return None
    from adapters.http.healthz import HealthServer

    port = config.runtime.health_port if options.health_port is None else options.health_port
    return HealthServer(probe, config.runtime.health_host, port, log)


def make_dashboard(
    config: Config, options: RunOptions, operator: Any, models_desc: str, log: logging.Logger, *, cycles: Any
) -> Any:
    """The live dashboard when DASHBOARD_PORT (or RunOptions.dashboard_port) is not -1; token from
    DASHBOARD_TOKEN, or a random one for this run (printed with the URL, redacted in the logs)."""
    port = config.runtime.dashboard_port if options.dashboard_port is None else options.dashboard_port
    if port < 0:
        return None
    import secrets

    from adapters.http.dashboard import DashboardServer
    from composition.redaction import register_secrets
    from composition.runtime.dashboard_feed import dashboard_snapshot

    token = config.runtime.dashboard_token or secrets.token_urlsafe(18)
    register_secrets([token])
    return DashboardServer(dashboard_snapshot(operator, model=models_desc, cycles=cycles), token, port, log=log)


def make_parts(
    config: Config,
    options: RunOptions,
    log: logging.Logger,
    cycle: Any,
    loop: Any,
    clock: Any,
    bot: Any,
    checks: dict[str, Any],
    bus: Any,
    engine: Any,
    window: tuple[int | None, int | None],
    health: Any,
    dashboard: Any,
) -> Any:
    """What `serve` runs. `health` and `dashboard` are their providers, called here with what reads the
    parts (the /healthz probe over them, the cycle count)."""
    from composition.runtime.service import ServiceParts, health_probe

    interval = config.runtime.scan_interval_seconds
    parts = ServiceParts(
        cycle=cycle,
        loop=loop,
        clock=clock,
        log=log,
        bot=bot,
        checks=checks,
        stale_after_s=options.stale_after_s or (2 * interval + 60),
        status={"event_bus": bus.status},
        closers=[bus.close, engine.dispose],
    )
    parts.health = health(probe=health_probe(parts, interval))
    parts.dashboard = dashboard(cycles=lambda: parts.cycle.n.cycles)
    start_ms, end_ms = window
    if options.replay and start_ms is not None and end_ms is not None:
        parts.replay_window = (start_ms, end_ms)
    return parts


class RuntimeContainer(containers.DeclarativeContainer):
    """The one composition root of the dry-run/live/replay service: every part, chosen from Config +
    RunOptions. Singletons are the parts; Resources are the start-up steps, each run once; `start`
    resolves them in their order (composition.runtime.launch.build_service calls it, then `parts`)."""

    config = providers.Dependency(instance_of=Config)
    options = providers.Dependency(instance_of=RunOptions)
    log = providers.Dependency(instance_of=logging.Logger)

    mode = options.provided.record_mode  # `replay` for a replay: its rows never mix with a dry-run's or live's
    timeframe = providers.Singleton(Timeframe.parse, config.provided.data.timeframe)
    models = providers.Singleton(load_predictors, config, log)  # (predictors, features, gates passed, description)
    live_preconditions = providers.Resource(check_live_preconditions, config, options, models.provided[2], log)

    clock = providers.Singleton(make_clock, options)
    candle_source = providers.Singleton(make_candle_source, config, options)
    replay_window = providers.Resource(make_replay_window, config, options, candle_source.provider)
    market = providers.Singleton(make_market, options, candle_source, clock)
    engine = providers.Singleton(make_engine, config, options)
    storage = providers.Singleton(build_storage, engine, clock.provided.now_ms, options.provided.replay)
    cost_model = providers.Singleton(make_cost_model, config, options, log)
    broker = providers.Singleton(make_broker, config, options, market, clock, cost_model)
    lock = providers.Singleton(threading.RLock)

    bot = providers.Singleton(make_bot, config, options, mode, log)
    notifier = providers.Singleton(make_notifier, options, mode, bot, clock, log)
    event_bus = providers.Singleton(make_event_bus, config, mode, log)
    decision = providers.Singleton(
        runtime_decision,
        config,
        storage.provided["state"],
        mode,
        log,
        providers.Callable(predictor_names, models),
        cost_model,
        replay_window.provided[0],
        storage.provided["ledger"],
    )  # (risk desk, confidence parameters, hysteresis scans)
    desk = decision.provided[0]
    scan = providers.Singleton(
        make_scan,
        config,
        options,
        mode,
        timeframe,
        models,
        decision,
        market,
        broker,
        notifier,
        storage,
        event_bus,
        clock,
    )
    plugins = providers.Resource(wire_scan_plugins, config, options, scan, engine, clock, notifier, log)
    warm_up = providers.Resource(warm_up_scan, scan, log)
    retrain_runner = providers.Singleton(make_retrain_runner, config, options, log)
    operator = providers.Singleton(make_operator, scan, desk, storage, clock, lock, retrain_runner, bot)
    quote_check = providers.Resource(check_start_quotes, config, options, timeframe, broker, market, clock, log)
    compliance = providers.Resource(start_compliance, config, log)
    reconciliation = providers.Resource(reconcile_start, options, mode, scan, broker, storage, clock, log)

    tracker = providers.Singleton(make_tracker, storage, market, clock, mode, timeframe)
    cycle = providers.Singleton(make_cycle, config, scan, tracker, desk, storage, notifier, broker, clock, log, lock)
    loop = providers.Singleton(make_loop, config, options, cycle, clock, log, timeframe, replay_window)
    checks = providers.Singleton(make_checks, config, storage, broker, bot, event_bus)
    health = providers.Factory(make_health, config, options, log)
    dashboard = providers.Factory(make_dashboard, config, options, operator, models.provided[3], log)
    parts = providers.Singleton(
        make_parts,
        config,
        options,
        log,
        cycle,
        loop,
        clock,
        bot,
        checks,
        event_bus,
        engine,
        replay_window,
        health.provider,
        dashboard.provider,
    )
    # The start-up, resolved in this order by build_service before the parts: the models (or the logged
    # baseline); live refuses before anything is opened; the replay's bounds against the candles present;
    # storage; the broker (BrokerUnavailable when unreachable); notifier and bus; the desk with its
    # restored state and FTMO ledger; the plugins into the scan, then the JIT warm-up (numba, torch: never
    # on the first live cycle); the operator; the quote check; the compliance findings; reconciliation.
    start = providers.List(
        models,
        live_preconditions,
        replay_window,
        storage,
        broker,
        notifier,
        event_bus,
        decision,
        plugins,
        warm_up,
        operator,
        quote_check,
        compliance,
        reconciliation,
    )
    extras = providers.Dict(
        start_ms=replay_window.provided[0],
        end_ms=replay_window.provided[1],
        models=models.provided[3],
        gates_passed=models.provided[2],
        notifier=notifier,
        operator=operator,
        desk=desk,
        repos=storage,
        bot=bot,
        engine=engine,
        scan=scan,
        compliance=compliance,
        reconciliation=reconciliation,
    )
