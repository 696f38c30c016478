"""Assemble and run the scan service for dry-run or live (the launchers call these)."""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
from typing import Any

import attrs

from composition.config import Config
from composition.containers import (
    LiveRefused,
    RunOptions,
    RuntimeContainer,
    build_storage,
    initial_state,
    load_predictors,
    make_desk,
    replay_window,
    restore_ledger,
)
from composition.logging_setup import set_log_mode
from composition.runtime.instance_lock import InstanceLock
from composition.runtime.loop import ScanLoop
from composition.runtime.service import (
    AlertingNotifier,
    PersistingOperator,
    RuntimeCycle,
    ServiceParts,
    health_probe,
    serve,
)
from composition.runtime.startup import check_quotes, compliance_findings, reconcile_at_start
from composition.settings import kernel_settings
from domain.confidence import ConfidenceParams
from domain.errors import ConfigError
from domain.market import Timeframe
from domain.signals import Mode
from services.operator_commands import OperatorService
from services.outcome_tracking import OutcomeSettings, OutcomeTracker
from services.scan_cycle import DEFAULT_LOOKBACK_BARS, ScanCycle, ScanSettings


@attrs.frozen
class RunSummary:
    mode: str
    replay: bool
    start_ms: int | None
    end_ms: int | None
    cycles: int
    failed: int
    skipped_ticks: int
    signals: int
    tiers: dict[str, int]
    blocks: dict[str, int]
    wins: int
    losses: int
    open_trades: int
    r_total: float
    alerts: dict[str, int]
    cycle_p50_ms: float
    cycle_p99_ms: float
    wall_s: float
    database: str
    log_file: str
    models: str
    exit_code: int


def check_live_preconditions(config: Config, options: RunOptions, gates_passed: bool, log: logging.Logger) -> None:
    """Live needs LIVE_CONFIRM=yes, a real broker and a gated model (or an explicit, logged override)."""
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


def build_service(config: Config, options: RunOptions, log: logging.Logger) -> tuple[ServiceParts, dict[str, Any]]:
    mode = options.record_mode  # `replay` for a replay: its rows never mix with a dry-run's or live's
    set_log_mode(log, mode.value)  # nor do its log lines (observe report reads them by mode)
    predictors, features, gates_passed, models_desc = load_predictors(config, log)
    if options.mode == Mode.LIVE:
        check_live_preconditions(config, options, gates_passed, log)
    c = RuntimeContainer(config=config, options=options, log=log)
    clock = c.clock()
    start_ms = end_ms = None
    if options.replay:
        start_ms, end_ms = replay_window(config, options, c.candle_source())
    engine = c.engine()
    repos = build_storage(engine, clock.now_ms, replay=options.replay)
    broker = c.broker()
    market = c.market()
    lock = c.lock()

    inner_notifier: Any
    bot = None
    if options.telegram and config.telegram.bot_token and not options.replay:
        from adapters.notifiers.telegram.bot import TelegramBot, TelegramNotifier

        bot = TelegramBot(
            config.telegram.bot_token,
            config.telegram.allowed_chat_ids,
            None,  # type: ignore[arg-type]
            mode=mode,
            base_url=config.telegram.base_url,
            log=log,
        )
        inner_notifier = TelegramNotifier(bot)
    else:
        from adapters.notifiers.console import ConsoleNotifier

        inner_notifier = ConsoleNotifier(sys.stdout, mode, quiet=not options.console_signals)
    notifier = AlertingNotifier(inner_notifier, log, clock)

    from composition.events import build_event_bus

    bus = build_event_bus(config, mode.value, log)  # in-process, or Kafka with EVENT_BUS=kafka (docs/events.md)
    desk, params, hysteresis_scans = runtime_decision(
        config,
        repos["state"],
        mode,
        log,
        [getattr(p, "name", "") for p in predictors],
        c.cost_model(),
        start_ms if options.replay else None,
        repos["ledger"],
    )
    policy_cfg = desk.policy_cfg
    tf = Timeframe.parse(config.data.timeframe)
    scan = ScanCycle(
        ScanSettings(
            tuple(config.data.symbols),
            tf,
            hysteresis_scans=hysteresis_scans,
            execute=places_orders(mode, options.broker or config.broker.kind),
            signal_id_prefix=replay_run_prefix() if options.replay else "",
            # trained models need their features' warm-up plus a full window each cycle
            lookback_bars=max(DEFAULT_LOOKBACK_BARS, int(getattr(features, "min_bars", 0))),
        ),
        desk,
        market,
        predictors,
        features,
        broker,
        notifier,
        repos["risk_book"],
        repos["signal_log"],
        bus,
        clock,
        params,
        unit_of_work=repos["unit_of_work"],
        intents=repos["order_intents"],
    )
    from composition.runtime.plugins import wire_plugins  # sentiment sources, extra predictors, weights

    wire_plugins(config, scan, engine=engine, clock=clock, log=log, replay=options.replay, alert=notifier.send_alert)
    from composition.runtime.warmup import warm_up_compiled

    warm_up_compiled(scan, log)  # numba compiles / torch initialises here, never on the first live cycle
    retrain_runner = None
    if not options.replay:  # a replay never starts real training
        from composition.runtime.retrain import RetrainRunner

        retrain_runner = RetrainRunner(log, os.path.join(config.data.store_dir, "logs", "retrain.log"))
    operator = PersistingOperator(OperatorService(scan), desk, repos["state"], clock, lock, retrain_runner)
    if bot is not None:
        bot.operator = operator
    kind = options.broker or config.broker.kind
    check_quotes(
        broker, market, config.data.symbols, tf, clock.now_ms(), broker_kind=kind, replay=options.replay, log=log
    )
    findings = compliance_findings(config, log, sys.stderr)
    # pending order intents are resolved against the account that was sent them: a replay's paper
    # account is new each run and never was
    recon = (
        reconcile_at_start(
            broker,
            repos["risk_book"],
            mode,
            log,
            sys.stderr,
            intents=None if options.replay else repos["order_intents"],
            unit_of_work=repos["unit_of_work"],
            now_ms=clock.now_ms(),
        )
        if scan.settings.execute
        else None
    )
    tracker = OutcomeTracker(repos["risk_book"], repos["patterns"], market, clock, mode, OutcomeSettings(tf))
    cycle = RuntimeCycle(
        scan=scan,
        tracker=tracker,
        desk=desk,
        state_store=repos["state"],
        notifier=notifier,
        ledger_store=repos["ledger"],
        signal_log=repos["signal_log"],
        broker=broker,
        clock=clock,
        log=log,
        lock=lock,
        policy_cfg=policy_cfg,
        data_dir=os.path.dirname(config.logging.file or ".") or ".",
    )
    interval = config.runtime.scan_interval_seconds
    loop = ScanLoop(
        cycle,
        clock,
        log,
        interval_s=interval,
        bar_ms=tf.ms,
        grace_ms=0 if options.replay else 2_000,
        max_cycles=options.cycles,
        until_ms=end_ms,
    )
    health = None
    if options.health:
        from adapters.http.healthz import HealthServer

        port = config.runtime.health_port if options.health_port is None else options.health_port
        health = HealthServer(lambda: probe(), config.runtime.health_host, port, log)
    checks: dict[str, Any] = {
        "db": repos["state"].ping,
        "broker": lambda: _broker_ok(broker, config.data.symbols[0]),
        "telegram": (lambda: bot.healthy) if bot is not None else (lambda: None),
        "event_bus": lambda: bus.status().get("broker_reachable", True),
    }
    parts = ServiceParts(
        cycle=cycle,
        loop=loop,
        clock=clock,
        log=log,
        health=health,
        bot=bot,
        checks=checks,
        stale_after_s=options.stale_after_s or (2 * interval + 60),
        status={"event_bus": bus.status},
        closers=[bus.close, engine.dispose],
    )
    parts.dashboard = make_dashboard(config, options, operator, models_desc, lambda: parts.cycle.n.cycles, log)
    if options.replay and start_ms is not None and end_ms is not None:
        parts.replay_window = (start_ms, end_ms)
    probe = health_probe(parts, interval)
    extras = {
        "start_ms": start_ms,
        "end_ms": end_ms,
        "models": models_desc,
        "gates_passed": gates_passed,
        "notifier": notifier,
        "operator": operator,
        "desk": desk,
        "repos": repos,
        "bot": bot,
        "engine": engine,
        "scan": scan,
        "compliance": findings,
        "reconciliation": recon,
    }
    return parts, extras


def make_dashboard(
    config: Config, options: RunOptions, operator: Any, models_desc: str, cycles: Any, log: logging.Logger
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


def _broker_ok(broker: Any, pair: str) -> bool:
    broker.account()
    return True


def run_service(config: Config, options: RunOptions, log: logging.Logger) -> RunSummary:
    import time

    t0 = time.monotonic()
    preflight(config, options)
    # One runtime per database and mode, taken before anything is built or written (a replay has its
    # own: it never shares rows with the real service).
    lock = InstanceLock(options.database_url or config.database.url, lock_name(options))
    with lock:
        log.info("instance_lock_acquired", extra={"ctx": {"mode": lock.mode, "lock": str(lock.path or "advisory")}})
        return _run_locked(config, options, log, t0)


def preflight(config: Config, options: RunOptions) -> None:
    """The cheap refusals, before the instance lock and before anything is built or written: a Telegram
    token without an allow-list, a busy or invalid health port, a database that cannot be opened or
    whose schema is not the code's head (naming `trading-ai db upgrade`)."""
    if (
        options.telegram and config.telegram.bot_token and not config.telegram.allowed_chat_ids and not options.replay
    ):  # a bot without an allow-list would answer no one, or everyone
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN is set but TELEGRAM_ALLOWED_CHAT_IDS is empty: list the chat ids "
            "the bot may answer (comma-separated), or unset the token"
        )
    if options.health:
        from adapters.http.healthz import check_port

        check_port(
            config.runtime.health_host,
            config.runtime.health_port if options.health_port is None else options.health_port,
        )
    from adapters.storage.engine import open_engine

    open_engine(options.database_url or config.database.url).dispose()


def lock_name(options: RunOptions) -> str:
    """What the instance lock is held on besides the database: the mode, or `replay` for a replay."""
    return options.record_mode.value


def _run_locked(config: Config, options: RunOptions, log: logging.Logger, t0: float) -> RunSummary:
    import time

    from adapters.storage.engine import redacted

    parts, extras = build_service(config, options, log)
    log.info(
        "run_started",
        extra={
            "ctx": {
                "mode": options.record_mode.value,
                "replay_from_ms": extras["start_ms"],
                "replay_to_ms": extras["end_ms"],
                "models": extras["models"],
                "broker": options.broker or config.broker.kind,
            }
        },
    )
    code = asyncio.run(serve(parts))
    stats = parts.loop.stats
    n = parts.cycle.n
    durs = sorted(stats.durations_ms) or [0.0]
    p99 = durs[min(len(durs) - 1, round(0.99 * (len(durs) - 1)))]
    open_trades = len(extras["repos"]["risk_book"].open_records(options.record_mode))
    summary = RunSummary(
        mode=options.record_mode.value,
        replay=options.replay,
        start_ms=extras["start_ms"],
        end_ms=parts.clock.now_ms(),
        cycles=stats.cycles,
        failed=stats.failed,
        skipped_ticks=stats.skipped_ticks,
        signals=n.signals,
        tiers=dict(n.tiers),
        blocks=dict(n.blocks),
        wins=n.wins,
        losses=n.losses,
        open_trades=open_trades,
        r_total=n.r_total,
        alerts=dict(extras["notifier"].counts),
        cycle_p50_ms=statistics.median(durs),
        cycle_p99_ms=p99,
        wall_s=time.monotonic() - t0,
        database=redacted(options.database_url or config.database.url),
        log_file=config.logging.file,
        models=extras["models"],
        exit_code=code,
    )
    log.info("run_summary", extra={"ctx": attrs.asdict(summary)})
    return summary
