"""Assemble and run the scan service for dry-run or live (the launchers call these)."""

from __future__ import annotations

import asyncio
import logging
import statistics
from typing import Any

import attrs

from composition.config import Config
from composition.containers import RunOptions, RuntimeContainer
from composition.logging_setup import set_log_mode
from composition.runtime.instance_lock import InstanceLock
from composition.runtime.service import ServiceParts, serve
from domain.errors import ConfigError


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


def build_service(config: Config, options: RunOptions, log: logging.Logger) -> tuple[ServiceParts, dict[str, Any]]:
    """The service from the one composition root, composition.containers.RuntimeContainer: its start-up
    steps run in their order, then the parts `serve` runs and the extras the caller reports from."""
    set_log_mode(log, options.record_mode.value)  # a replay's log lines too are under `replay`
    c = RuntimeContainer(config=config, options=options, log=log)
    c.start()  # the order-sensitive start-up steps, in their order (RuntimeContainer.start)
    return c.parts(), c.extras()


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
