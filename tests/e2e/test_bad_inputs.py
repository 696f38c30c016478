"""Every user mistake is one line on stderr and exit code 2, changes nothing, and never shows a
traceback (issue 20): a table of bad inputs fed to the CLI (config files, env files and variables,
arguments, database URLs, ports, damaged artefacts).

Each case runs `composition.cli.main` in this process with its own environment and captured stdio (a
subprocess per case would cost a second or more each); one case needs a real second process (a busy
health port) and gets a socket held open instead. For each case: the exit code is 2, stderr is
exactly one line starting with `trading-ai:` and containing the case's expected words, nothing a bug
would print (no traceback), and every file, directory and database row of the workspace is unchanged
(lock files and SQLite's -wal/-shm side files excepted: they are the runtime's, not the user's data).
Console logging is at ERROR (LOG_CONSOLE_LEVEL, as an operator may set it) so warnings the runtime
logs before it refuses do not count as lines.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters.storage import migrate
from composition.cli import main

REPLAY = [
    "run",
    "--replay-from",
    "2025-09-01",
    "--cycles",
    "1",
    "--no-health",
    "--cost-model",
    "fixed",
    "--spread-bps",
    "2",
    "--slippage-bps",
    "1",
]
DRYRUN = ["run", "--cycles", "1", "--no-health", "--cost-model", "fixed", "--spread-bps", "2", "--slippage-bps", "1"]
WITH_HEALTH = [a for a in REPLAY if a != "--no-health"]
SIDE_FILES = ("-wal", "-shm", ".lock")


@attrs.frozen
class Case:
    id: str
    argv: tuple[str, ...]
    expect: tuple[str, ...]  # words the one line must contain (case-insensitive)
    env: tuple[tuple[str, str], ...] = ()
    files: tuple[tuple[str, bytes], ...] = ()  # written under the case's own folder before the snapshot
    setup: str = ""  # name of a special preparation (see _SETUPS)


def case(
    id: str,
    argv: list[str] | str,
    *expect: str,
    env: dict[str, str] | None = None,
    files: dict[str, bytes] | None = None,
    setup: str = "",
) -> Any:
    args = argv.split() if isinstance(argv, str) else argv
    c = Case(id, tuple(args), expect, tuple((env or {}).items()), tuple((files or {}).items()), setup)
    return pytest.param(c, id=id)


# --- the table -----------------------------------------------------------------------------------

USAGE = [  # argparse: one line, exit 2, before anything loads
    case("unknown-command", "frobnicate", "invalid choice"),
    case("unknown-option", "config show --nope", "unrecognized arguments"),
    case("run-cycles-word", "run --cycles many", "--cycles", "invalid int"),
    case("run-mode", "run --mode paper", "--mode", "invalid choice"),
    case("run-broker", "run --broker binance", "--broker", "invalid choice"),
    case("run-cost-model", "run --cost-model cheap", "--cost-model"),
    case("run-spread-word", "run --spread-bps wide", "--spread-bps", "invalid float"),
    case("run-health-port-word", "run --health-port http", "--health-port", "invalid int"),
    case("run-cycles-missing-value", "run --cycles", "--cycles", "expected one argument"),
    case("backtest-periods-word", "backtest --periods few", "--periods", "invalid int"),
    case("backtest-workers-word", "backtest --workers all", "--workers", "invalid int"),
    case("challenge-runs-word", "challenge simulate --runs lots", "--runs", "invalid int"),
    case("challenge-max-days-word", "challenge simulate --max-days x", "--max-days"),
    case("db-no-subcommand", "db", "required"),
    case("db-downgrade-no-rev", "db downgrade", "REV"),
    case("db-restore-no-file", "db restore", "file"),
    case("db-archive-days-word", "db archive --days old", "--days", "invalid int"),
    case("db-unknown-sub", "db vacuum", "invalid choice"),
    case("observe-days-word", "observe report --days week", "--days", "invalid int"),
    case("exec-metrics-unknown-source", "exec-metrics update --source tape", "--source"),
    case("config-unknown-sub", "config dump", "invalid choice"),
    case("run-unknown-flag", "run --fast", "unrecognized arguments"),
    case("models-unknown-sub", "models delete", "invalid choice"),
    case("config-missing-path", "--config", "--config", "expected one argument"),
    case("env-file-missing-path", "--env-file", "--env-file", "expected one argument"),
]

CONFIG_FILES = [  # --config PATH: config show loads and validates it
    case("config-missing", "--config cases/none.toml config show", "not found"),
    case("config-directory", "--config cases config show", "not found"),
    case("config-not-utf8", "--config cases/c.toml config show", "not utf-8", files={"c.toml": b"mode = '\xff\xfe'\n"}),
    case(
        "config-latin1",
        "--config cases/c.toml config show",
        "not utf-8",
        files={"c.toml": "[data]\nexchange = 'b\xe9'\n".encode("latin-1")},
    ),
    case("config-bad-toml", "--config cases/c.toml config show", "not valid toml", files={"c.toml": b"mode = \n"}),
    case(
        "config-bad-toml-bracket",
        "--config cases/c.toml config show",
        "not valid toml",
        files={"c.toml": b"[risk\nkill_switch = true\n"},
    ),
    case(
        "config-bad-toml-dup",
        "--config cases/c.toml config show",
        "not valid toml",
        files={"c.toml": b"seed = 1\nseed = 2\n"},
    ),
    case(
        "config-unknown-top",
        "--config cases/c.toml config show",
        "unknown key",
        "colour",
        files={"c.toml": b"colour = 'red'\n"},
    ),
    case(
        "config-unknown-in-section",
        "--config cases/c.toml config show",
        "[risk]",
        "kill",
        files={"c.toml": b"[risk]\nkill = true\n"},
    ),
    case(
        "config-unknown-section",
        "--config cases/c.toml config show",
        "unknown key",
        "riskk",
        files={"c.toml": b"[riskk]\nkill_switch = true\n"},
    ),
    case(
        "config-section-not-table",
        "--config cases/c.toml config show",
        "risk",
        "table",
        files={"c.toml": b"risk = 3\n"},
    ),
    case(
        "config-mode",
        "--config cases/c.toml config show",
        "config mode",
        "one of",
        files={"c.toml": b"mode = 'paper'\n"},
    ),
    case("config-seed-word", "--config cases/c.toml config show", "config seed", files={"c.toml": b"seed = 'x'\n"}),
    case("config-seed-negative", "--config cases/c.toml config show", "config seed", files={"c.toml": b"seed = -1\n"}),
    case(
        "config-kill-switch-word",
        "--config cases/c.toml config show",
        "risk.kill_switch",
        files={"c.toml": b"[risk]\nkill_switch = 'maybe'\n"},
    ),
    case(
        "config-max-per-hour",
        "--config cases/c.toml config show",
        "risk.max_signals_per_hour",
        files={"c.toml": b"[risk]\nmax_signals_per_hour = 5000\n"},
    ),
    case(
        "config-challenge",
        "--config cases/c.toml config show",
        "risk.challenge",
        files={"c.toml": b"[risk]\nchallenge = 'three-step'\n"},
    ),
    case(
        "config-balance-zero",
        "--config cases/c.toml config show",
        "risk.initial_balance",
        files={"c.toml": b"[risk]\ninitial_balance = 0\n"},
    ),
    case(
        "config-risk-per-trade",
        "--config cases/c.toml config show",
        "risk.risk_per_trade_pct",
        files={"c.toml": b"[risk]\nrisk_per_trade_pct = 50\n"},
    ),
    case(
        "config-threshold",
        "--config cases/c.toml config show",
        "confidence.threshold",
        files={"c.toml": b"[confidence]\nthreshold = 0.2\n"},
    ),
    case(
        "config-hysteresis",
        "--config cases/c.toml config show",
        "confidence.hysteresis_scans",
        files={"c.toml": b"[confidence]\nhysteresis_scans = 0\n"},
    ),
    case(
        "config-broker",
        "--config cases/c.toml config show",
        "broker.kind",
        files={"c.toml": b"[broker]\nkind = 'binance'\n"},
    ),
    case(
        "config-leverage",
        "--config cases/c.toml config show",
        "broker.paper_leverage",
        files={"c.toml": b"[broker]\npaper_leverage = 500\n"},
    ),
    case(
        "config-interval",
        "--config cases/c.toml config show",
        "runtime.scan_interval_seconds",
        files={"c.toml": b"[runtime]\nscan_interval_seconds = 0\n"},
    ),
    case(
        "config-health-port",
        "--config cases/c.toml config show",
        "runtime.health_port",
        files={"c.toml": b"[runtime]\nhealth_port = 70000\n"},
    ),
    case(
        "config-log-level",
        "--config cases/c.toml config show",
        "logging.level",
        files={"c.toml": b"[logging]\nlevel = 'LOUD'\n"},
    ),
    case(
        "config-log-format",
        "--config cases/c.toml config show",
        "logging.format",
        files={"c.toml": b"[logging]\nformat = 'xml'\n"},
    ),
    case(
        "config-device",
        "--config cases/c.toml config show",
        "training.device",
        files={"c.toml": b"[training]\ndevice = 'tpu'\n"},
    ),
    case(
        "config-fee",
        "--config cases/c.toml config show",
        "backtest.fee_bps",
        files={"c.toml": b"[backtest]\nfee_bps = -1\n"},
    ),
    case(
        "config-periods",
        "--config cases/c.toml config show",
        "backtest.periods",
        files={"c.toml": b"[backtest]\nperiods = 0\n"},
    ),
    case(
        "config-chat-ids",
        "--config cases/c.toml config show",
        "telegram.allowed_chat_ids",
        files={"c.toml": b"[telegram]\nallowed_chat_ids = ['me']\n"},
    ),
    case(
        "config-int-as-bool",
        "--config cases/c.toml config show",
        "risk.backoff_losses",
        files={"c.toml": b"[risk]\nbackoff_losses = true\n"},
    ),
]

_ENV_VALUES = [  # (variable, bad value, words)
    ("KILL_SWITCH", "maybe", "KILL_SWITCH"),
    ("KILL_SWITCH", "2", "KILL_SWITCH"),
    ("MAX_SIGNALS_PER_HOUR", "-1", "MAX_SIGNALS_PER_HOUR"),
    ("MAX_SIGNALS_PER_HOUR", "ten", "MAX_SIGNALS_PER_HOUR"),
    ("MAX_SIGNALS_PER_HOUR", "1e9", "MAX_SIGNALS_PER_HOUR"),
    ("MAX_SIGNALS_PER_HOUR_HIGH", "2000", "HIGH"),
    ("FTMO_CHALLENGE", "three-step", "FTMO_CHALLENGE"),
    ("FTMO_INITIAL_BALANCE", "0", "FTMO_INITIAL_BALANCE"),
    ("FTMO_INITIAL_BALANCE", "lots", "FTMO_INITIAL_BALANCE"),
    ("RISK_PER_TRADE_PCT", "9", "RISK_PER_TRADE_PCT"),
    ("RISK_PER_TRADE_PCT", "-0.5", "RISK_PER_TRADE_PCT"),
    ("DAILY_LOSS_BUFFER_PCT", "150", "DAILY_LOSS_BUFFER_PCT"),
    ("TOTAL_LOSS_BUFFER_PCT", "x", "TOTAL_LOSS_BUFFER_PCT"),
    ("CONFIDENCE_THRESHOLD", "0.2", "CONFIDENCE_THRESHOLD"),
    ("CONFIDENCE_THRESHOLD", "high", "CONFIDENCE_THRESHOLD"),
    ("TELEGRAM_ALLOWED_CHAT_IDS", "me,you", "CHAT_IDS"),
    ("TELEGRAM_ALLOWED_CHAT_IDS", "12,x", "CHAT_IDS"),
    ("BROKER", "binance", "BROKER"),
    ("BROKER", "", "BROKER"),
    ("SCAN_INTERVAL_SECONDS", "0", "SCAN_INTERVAL_SECONDS"),
    ("SCAN_INTERVAL_SECONDS", "2m", "SCAN_INTERVAL_SECONDS"),
    ("HEALTH_PORT", "70000", "HEALTH_PORT"),
    ("HEALTH_PORT", "-1", "HEALTH_PORT"),
    ("HEALTH_PORT", "http", "HEALTH_PORT"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
    ("LOG_FORMAT", "xml", "LOG_FORMAT"),
    ("TORCH_DEVICE", "tpu", "TORCH_DEVICE"),
    ("MODE", "prod", "MODE"),
    ("SEED", "-1", "SEED"),
    ("SEED", "abc", "SEED"),
    ("PAPER_LEVERAGE", "0", "PAPER_LEVERAGE"),
    ("PAPER_LEVERAGE", "1000", "PAPER_LEVERAGE"),
    ("LATENCY_SLA_MS", "0", "LATENCY_SLA_MS"),
    ("TRADING_AI_BACKTEST_PERIODS", "0", "TRADING_AI_BACKTEST_PERIODS"),
    ("TRADING_AI_BACKTEST_WORKERS", "100", "TRADING_AI_BACKTEST_WORKERS"),
    ("TRADING_AI_RISK_BACKOFF_LOSSES", "0", "TRADING_AI_RISK_BACKOFF_LOSSES"),
    ("TRADING_AI_CONFIDENCE_CONSERVATIVE_BIAS", "0.9", "CONSERVATIVE_BIAS"),
    ("TRADING_AI_CONFIDENCE_HYSTERESIS_SCANS", "11", "HYSTERESIS_SCANS"),
    ("TRADING_AI_BACKTEST_COST_MODEL", "cheap", "COST_MODEL"),
    ("TRADING_AI_SEED", "4294967296", "TRADING_AI_SEED"),
    ("LOG_CONSOLE_LEVEL", "LOUD", "LOG_CONSOLE_LEVEL"),
    ("TRADING_AI_BACKTEST_HORIZON_BARS", "0", "HORIZON_BARS"),
]
ENV = [
    case(f"env-{name.lower()}-{i}", "config show", words, env={name: value})
    for i, (name, value, words) in enumerate(_ENV_VALUES)
]

ENV_FILES = [
    case(
        "envfile-not-utf8",
        "--env-file cases/.env config show",
        "env file",
        "not utf-8",
        files={".env": b"KILL_SWITCH=\xff\xfe\n"},
    ),
    case(
        "envfile-latin1",
        "--env-file cases/.env config show",
        "not utf-8",
        files={".env": "SYMBOLS=BTC/USDT\nNOTE=caf\xe9\n".encode("latin-1")},
    ),
    case(
        "envfile-no-equals",
        "--env-file cases/.env config show",
        "expected key=value",
        files={".env": b"KILL_SWITCH true\n"},
    ),
    case(
        "envfile-bad-value",
        "--env-file cases/.env config show",
        "KILL_SWITCH",
        files={".env": b"KILL_SWITCH=perhaps\n"},
    ),
    case(
        "envfile-bad-port", "--env-file cases/.env config show", "HEALTH_PORT", files={".env": b"HEALTH_PORT=99999\n"}
    ),
    case("envfile-bad-mode", "--env-file cases/.env config show", "MODE", files={".env": b"export MODE=prod\n"}),
]

RUN_ARGS = [
    case("replay-to-alone", "run --replay-to 2025-10-02", "--replay-to needs --replay-from"),
    case("replay-to-before-from", "run --replay-from 2025-10-05 --replay-to 2025-10-01", "before --replay-from"),
    case("speed-nan", "run --replay-from 2025-10-01 --speed nan", "--speed", "finite"),
    case("speed-inf", "run --replay-from 2025-10-01 --speed inf", "--speed", "finite"),
    case("speed-minus-inf", "run --replay-from 2025-10-01 --speed=-inf", "--speed"),
    case("speed-zero", "run --replay-from 2025-10-01 --speed 0", "--speed"),
    case("speed-negative", "run --replay-from 2025-10-01 --speed=-5", "--speed"),
    case("speed-word", "run --replay-from 2025-10-01 --speed fast", "--speed"),
    case("cycles-zero", "run --cycles 0", "--cycles must be at least 1"),
    case("cycles-negative", "run --cycles=-3", "--cycles must be at least 1"),
    case("replay-from-bad-date", "run --replay-from 2025-13-01", "--replay-from", "YYYY-MM-DD"),
    case("replay-from-words", "run --replay-from yesterday", "--replay-from", "YYYY-MM-DD"),
    case("replay-to-bad-date", "run --replay-from 2025-10-01 --replay-to 2025-10-32", "--replay-to"),
    case("replay-from-after-data", [*REPLAY[:1], "--replay-from", "2030-01-01", *REPLAY[3:]], "outside"),
    case("replay-from-before-data", [*REPLAY[:1], "--replay-from", "1999-01-01", *REPLAY[3:]], "outside"),
    case("shim-url-wrong-broker", "run --broker paper --shim-url http://127.0.0.1:1", "--shim-url"),
    case("health-port-negative", [*WITH_HEALTH, "--health-port=-1"], "health port", "out of range"),
    case("health-port-too-big", [*WITH_HEALTH, "--health-port", "65536"], "health port", "out of range"),
    case(
        "health-port-busy",
        [*WITH_HEALTH, "--health-port", "{busy_port}"],
        "health port",
        "not available",
        setup="busy_port",
    ),
    case(
        "health-port-env-busy",
        WITH_HEALTH,
        "health port",
        "not available",
        env={"HEALTH_PORT": "{busy_port}"},
        setup="busy_port",
    ),
    case("live-unconfirmed", "run --mode live --broker shim --no-health", "live mode refused", "LIVE_CONFIRM"),
    case(
        "live-paper",
        "run --mode live --broker paper --no-health",
        "live mode refused",
        "not a real account",
        env={"LIVE_CONFIRM": "yes"},
    ),
    case("live-mock", "run --mode live --broker mock --no-health", "live mode refused", env={"LIVE_CONFIRM": "yes"}),
    case("live-replay", "run --mode live --replay-from 2025-10-01 --no-health", "live mode refused", "replay"),
    case(
        "telegram-no-allow-list",
        DRYRUN,
        "TELEGRAM_ALLOWED_CHAT_IDS is empty",
        env={"TELEGRAM_BOT_TOKEN": "123456789:AAHnotARealTokenButLongEnough"},
    ),
    case("metaapi-no-credentials", [*DRYRUN, "--broker", "metaapi"], "METAAPI_TOKEN"),
    case("paper-without-costs", REPLAY[:6], "without measured execution costs", "exec-metrics update"),
]

_BAD_URLS = [
    ("mysql", "mysql://root@127.0.0.1/x", "not supported"),
    ("oracle", "oracle://u:p@127.0.0.1/x", "not supported"),
    ("mssql", "mssql+pyodbc://u@dsn", "not supported"),
    ("http", "http://127.0.0.1/db", "not supported"),
    ("not-a-url", "just some words", "not a database url"),
    ("empty-scheme", "://nothing", "not a database url"),
    ("pg-unknown-driver", "postgresql+nodriver://u@127.0.0.1/x", "driver"),
    ("sqlite-unknown-driver", "sqlite+nodriver:///x.db", "driver"),
    ("pg-closed-port", "postgresql://postgres@127.0.0.1:1/test", "cannot open database"),
    ("pg-missing-db", "postgresql://postgres@127.0.0.1:5432/no_such_db_t20", "cannot open database"),
    ("sqlite-missing-file", "sqlite:///{ws}/cases/new/absent.sqlite3", "db upgrade"),
    ("sqlite-old-schema", "sqlite:///{ws}/old.sqlite3", "0006", "db upgrade"),
    ("sqlite-empty-schema", "sqlite:///{ws}/empty.sqlite3", "no trading-ai schema", "db upgrade"),
    ("sqlite-garbage", "sqlite:///{ws}/garbage.sqlite3", "not a sqlite database"),
    ("sqlite-foreign-revision", "sqlite:///{ws}/foreign.sqlite3", "does not know"),
]
DB_URLS = [case(f"db-{what}-run", REPLAY, *words, env={"DATABASE_URL": url}) for what, url, *words in _BAD_URLS]
# `db current` reports a missing, empty, old or foreign schema (exit 0: that is its job); these it cannot open
DB_URLS += [
    case(f"db-{what}-current", "db current", *words, env={"DATABASE_URL": url})
    for what, url, *words in _BAD_URLS
    if "schema" not in what and what not in ("sqlite-missing-file", "sqlite-foreign-revision")
]
DB_URLS += [
    case(f"db-{what}-upgrade", "db upgrade", *words, env={"DATABASE_URL": url})
    for what, url, *words in _BAD_URLS
    if what in ("mysql", "not-a-url", "pg-unknown-driver", "pg-closed-port", "sqlite-garbage")
]
DB_URLS += [case("db-url-flag", [*REPLAY, "--database-url", "mysql://x@127.0.0.1/y"], "not supported")]

ARTEFACTS = [
    case("registry-truncated-models-list", "models list", "registry", "not valid json", setup="registry_truncated"),
    case("registry-truncated-run", REPLAY, "registry", "not valid json", setup="registry_truncated"),
    case("registry-not-utf8", "models list", "registry", "not valid json", setup="registry_binary"),
    case("registry-wrong-shape", "models list", "does not hold tags", setup="registry_list"),
    case("bundle-swapped-weights", REPLAY, "does not match its registry sha256", setup="bundle_swapped"),
    case("bundle-truncated-weights", REPLAY, "does not match its registry sha256", setup="bundle_truncated"),
    case("bundle-missing-weights", REPLAY, "missing", setup="bundle_missing"),
    case("paper-state-garbage", DRYRUN, "paper broker state", "corrupt", setup="paper_state_garbage"),
    case("paper-state-wrong-shape", DRYRUN, "paper broker state", "corrupt", setup="paper_state_shape"),
    case("candles-wrong-columns", REPLAY, "lacks the column", setup="candles_wrong_columns"),
    case("candles-not-parquet", REPLAY, "cannot read candle file", setup="candles_garbage"),
    case("restore-missing-file", "db restore cases/none.sqlite3 --yes", "none.sqlite3"),
    case("observe-log-missing", "observe report --log cases/none.jsonl", "none.jsonl"),
]

OTHER_COMMANDS = [
    case("observe-days-zero", "observe report --days 0", "--days must be at least 1"),
    case("observe-days-negative", "observe report --days=-3", "--days must be at least 1"),
    case("asof-future", "exec-metrics update --source ohlc --as-of 2999-01-01", "--as-of", "future"),
    case("asof-bad-date", "exec-metrics update --source ohlc --as-of 2025-02-30", "--as-of"),
    case("run-name-parent", "backtest --run-name ../x", "--run-name", "'..'"),
    case("run-name-absolute", "backtest --run-name /tmp/x", "--run-name"),
    case("run-name-nested", "backtest --run-name a/b", "--run-name"),
    case("run-name-dotdot", "backtest --run-name ..", "--run-name"),
    case("run-name-config", "backtest", "--run-name", env={"TRADING_AI_BACKTEST_RUN_NAME": "../../etc"}),
    case("run-name-hidden", "backtest --run-name .hidden", "--run-name"),
    case("runs-zero", "challenge simulate --runs 0", "--runs must be 1 to"),
    case("runs-too-many", "challenge simulate --runs 1000000000", "--runs must be 1 to"),
    case("runs-negative", "challenge simulate --runs=-2", "--runs must be 1 to"),
    case("max-days-zero", "challenge simulate --max-days 0", "--max-days"),
    case("block-days-zero", "challenge simulate --block-days 0", "--block-days"),
    case("archive-days-zero", "db archive --days 0", "--days must be at least 1"),
    case("periods-one", "backtest --periods 1", "--periods"),
    case("periods-too-many", "backtest --periods 100", "--periods"),
    case("workers-zero", "backtest --workers 0", "--workers"),
    case("db-downgrade-unknown", "db downgrade 9999", "unknown revision"),
    case("db-upgrade-unknown", "db upgrade zzz", "unknown revision"),
    case("restore-without-yes", "db restore cases/none.sqlite3", "--yes"),
]

CASES = [*USAGE, *CONFIG_FILES, *ENV, *ENV_FILES, *RUN_ARGS, *DB_URLS, *ARTEFACTS, *OTHER_COMMANDS]


def test_the_table_holds_at_least_150_bad_inputs() -> None:
    assert len(CASES) >= 150, len(CASES)
    assert len({c.values[0].id for c in CASES}) == len(CASES)


# --- the workspace every case runs in ------------------------------------------------------------


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("bad_inputs")
    for name in ("db", "old", "foreign"):
        migrate.upgrade(f"sqlite:///{ws / f'{name}.sqlite3'}")
    migrate.downgrade(f"sqlite:///{ws / 'old.sqlite3'}", "0006")
    with sqlite3.connect(ws / "db.sqlite3") as db:  # rows the cases must leave alone
        db.execute(
            "INSERT INTO block_log (pair, reason, detail, at, tier, confidence, mode) "
            "VALUES ('BTC/USDT', 'kill_switch', 'on', 1, 'HIGH', NULL, 'dryrun')"
        )
    with sqlite3.connect(ws / "foreign.sqlite3") as db:
        db.execute("UPDATE alembic_version SET version_num = 'f00d'")
    sqlite3.connect(ws / "empty.sqlite3").close()
    (ws / "empty.sqlite3").write_bytes(b"")
    (ws / "garbage.sqlite3").write_bytes(b"this is not a database, it is a text file\n" * 200)
    (ws / "cases" / "empty").mkdir(parents=True)
    # the cleaned candle store a runtime reads (imported once, as `trading-ai data import` does)
    code, _out, err = run_in_process(["data", "import"], _base_env(ws), ws)
    assert code == 0, err
    return ws


def _base_env(ws: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{ws / 'db.sqlite3'}",
        "DATA_DIR": str(ws / "data"),
        "MODELS_DIR": str(ws / "models"),
        "TRADING_AI_TRAINING_RUNS_DIR": str(ws / "runs"),
        "TRADING_AI_BACKTEST_REPORTS_DIR": str(ws / "reports"),
        "LOG_CONSOLE_LEVEL": "ERROR",
        "LOG_FILE": "",
        "SYMBOLS": "BTC/USDT",
        "TIMEFRAME": "1h",
    }  # one pair of hourly bars: a short import


def _db_rows(path: Path) -> str | None:
    """Every table's rows (alembic_version included) of a SQLite file, hashed; None when it is not one.
    Rows, not bytes: opening a database in WAL mode rewrites its header without changing any data."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            tables = [t for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
            rows = [(t, db.execute(f'SELECT * FROM "{t}" ORDER BY 1').fetchall()) for t in tables]
    except sqlite3.DatabaseError:
        return None
    return "rows:" + hashlib.sha256(repr(rows).encode()).hexdigest()


def _snapshot(ws: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for p in sorted(ws.rglob("*")):
        rel = str(p.relative_to(ws))
        if rel.endswith(SIDE_FILES):
            continue
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
            continue
        if p.is_dir():
            out[rel] = "dir"
            continue
        st = p.stat()
        rows = _db_rows(p) if p.suffix == ".sqlite3" and st.st_size > 0 else None
        # size + mtime + inode: any write or replacement shows (hashing the candle store each case is slow)
        out[rel] = rows or f"{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"
    return out


# --- special preparations -------------------------------------------------------------------------


def _bundle(ws: Path, models: Path, seed: int = 0) -> Path:
    """A promoted one-network bundle (a toy LSTM: enough to be loaded and verified)."""
    import torch

    from training.networks import LSTMDirection
    from training.registry import FileModelRegistry, serialise_model

    torch.manual_seed(seed)
    net = LSTMDirection(3, hidden=4)
    reg = FileModelRegistry(models)
    f = reg.write_model(
        "lstm",
        "BTC",
        serialise_model(net.state_dict(), {"kind": "lstm", "hparams": net.hparams, "pairs": {"BTC/USDT": {}}}),
        {"h": 4},
    )
    reg.promote(
        reg.register({"lstm:BTC/USDT": f}, metrics={}, gates={}, gates_passed=True, data_range={}, run_id="r"), "test"
    )
    return models / str(f["file"])


def _candles(folder: Path, table: Any) -> None:
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    pq.write_table(table, folder / "BTC_USDT-1h.parquet")


def _setup(name: str, ws: Path, here: Path, env: dict[str, str], stack: contextlib.ExitStack) -> None:
    models = here / "models"
    if name.startswith(("registry", "bundle")):
        env["MODELS_DIR"] = str(models)
    if name == "registry_truncated":
        models.mkdir(parents=True)
        (models / "registry.json").write_bytes(b'{"tags": {"v1.0.0": {"files": ')
    elif name == "registry_binary":
        models.mkdir(parents=True)
        (models / "registry.json").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    elif name == "registry_list":
        models.mkdir(parents=True)
        (models / "registry.json").write_text("[1, 2, 3]")
    elif name == "bundle_swapped":
        weights = _bundle(ws, models)
        weights.write_bytes(_bundle(ws, here / "other", seed=1).read_bytes())  # valid, but not the recorded one
    elif name == "bundle_truncated":
        weights = _bundle(ws, models)
        weights.write_bytes(weights.read_bytes()[:64])
    elif name == "bundle_missing":
        _bundle(ws, models).unlink()
    elif name == "paper_state_garbage":
        env["DATA_DIR"] = str(here / "data")
        (here / "data").mkdir()
        (here / "data" / "paper_broker_dryrun.json").write_text('{"balance": 100000, "positions": [')
    elif name == "paper_state_shape":
        env["DATA_DIR"] = str(here / "data")
        (here / "data").mkdir()
        (here / "data" / "paper_broker_dryrun.json").write_text('{"balance": "a lot"}')
    elif name in ("candles_wrong_columns", "candles_garbage"):
        import pyarrow as pa

        env["CANDLES_DIR"] = str(here / "candles")
        env["DATA_DIR"] = str(here / "data")
        if name == "candles_wrong_columns":
            _candles(here / "candles", pa.table({"ts": [1_759_276_800_000], "o": [1.0], "c": [1.0]}))
        else:
            (here / "candles").mkdir()
            (here / "candles" / "BTC_USDT-1h.parquet").write_bytes(b"PAR1 not really parquet")
    elif name == "busy_port":
        sock = stack.enter_context(socket.socket())
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        env["{busy_port}"] = str(sock.getsockname()[1])
    elif name:
        raise AssertionError(f"unknown setup {name}")


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    try:
        for k in list(os.environ):
            if k.startswith("TRADING_AI_") or k in _CLEARED:
                del os.environ[k]
        os.environ.update(env)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


_CLEARED = {
    "TIMEFRAME",
    "DATABASE_URL",
    "LIVE_CONFIRM",
    "BROKER",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_ALLOWED_CHAT_IDS",
    "KILL_SWITCH",
    "LOG_FILE",
    "MODE",
    "HEALTH_PORT",
    "CANDLES_DIR",
    "DATA_DIR",
    "MODELS_DIR",
    "SYMBOLS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "SCAN_INTERVAL_SECONDS",
    "LOG_CONSOLE_LEVEL",
    "METAAPI_TOKEN",
    "METAAPI_ACCOUNT_ID",
    "SHIM_TOKEN",
}


def run_in_process(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with _environ(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    finally:
        os.chdir(old)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def _quiet_logger() -> Iterator[None]:
    import logging

    yield
    logging.getLogger("trading_ai").handlers.clear()


@pytest.fixture(autouse=True, scope="module")
def _one_parser() -> Iterator[None]:
    """The same parser for every case (argparse parsers are reusable; building one costs ~0.1 s)."""
    import functools

    import composition.cli as cli

    original = cli.build_parser
    cli.build_parser = functools.cache(original)
    yield
    cli.build_parser = original


@pytest.mark.parametrize("bad", CASES)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(bad: Case, ws: Path, tmp_path: Path) -> None:
    here = ws / "cases" / bad.id
    env = _base_env(ws)
    with contextlib.ExitStack() as stack:
        if bad.files or bad.setup:
            here.mkdir(parents=True, exist_ok=True)
            for name, content in bad.files:
                (here / name).write_bytes(content)
        _setup(bad.setup, ws, here, env, stack)
        busy = env.pop("{busy_port}", "")
        folder = f"cases/{bad.id}/" if bad.files else "cases/"

        def subst(text: str) -> str:
            return text.replace("{ws}", str(ws)).replace("cases/", folder).replace("{busy_port}", busy)

        env.update({k: subst(v) for k, v in bad.env})
        argv = [subst(a) for a in bad.argv]
        before = _snapshot(ws)
        code, out, err = run_in_process(argv, env, ws)
        after = _snapshot(ws)
    lines = [x for x in err.splitlines() if x.strip()]
    assert "Traceback" not in err + out, err
    assert code == 2, f"exit {code}; stderr: {err[-2000:]}"
    assert len(lines) == 1, f"{len(lines)} lines on stderr:\n{err[-3000:]}"
    assert lines[0].startswith("trading-ai:"), lines[0]
    for word in bad.expect:
        assert word.lower() in lines[0].lower(), f"{word!r} not in: {lines[0]}"
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], f"changed: {changed}"


def test_an_unknown_prefixed_variable_warns_with_the_closest_name(ws: Path) -> None:
    env = {**_base_env(ws), "TRADING_AI_RISK_KILLSWITCH": "true"}
    code, _out, err = run_in_process(["config", "show"], env, ws)
    assert code == 0, err
    assert "TRADING_AI_RISK_KILLSWITCH matches no setting; did you mean TRADING_AI_RISK_KILL_SWITCH?" in err
