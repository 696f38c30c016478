"""Configuration: attrs classes structured by cattrs, validated at boot.

Sources, later wins: defaults < TOML file (`--config PATH`) < `.env` < process environment.
Every field can be set by `TRADING_AI_<SECTION>_<FIELD>` (e.g. `TRADING_AI_RISK_KILL_SWITCH`);
some also by the plan's short names (`KILL_SWITCH`, `MAX_SIGNALS_PER_HOUR`, ...) declared with `env=`.
A bad value raises `ConfigError` naming the variable, the value given and what is allowed, before
anything starts. Fields marked `secret=True` are redacted by `config show` and in every log line.
"""

from __future__ import annotations

import os
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs

from domain.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"

MODES = ("demo", "dryrun", "live", "backtest")
BROKERS = ("paper", "mt5", "shim", "metaapi", "mock")
CHALLENGES = ("two-step", "one-step")


def setting(
    default: Any, *, env: tuple[str, ...] = (), secret: bool = False, allowed: str = "", validator: Any = None
) -> Any:
    """An attrs field carrying its extra env names, secrecy and a human description of allowed values."""
    factory = default if callable(default) and not isinstance(default, (str, int, float, bool, tuple)) else None
    kwargs: dict[str, Any] = {"metadata": {"env": env, "secret": secret, "allowed": allowed}}
    if validator is not None:
        kwargs["validator"] = validator
    if factory is not None:
        return attrs.field(factory=factory, **kwargs)
    return attrs.field(default=default, **kwargs)


def _one_of(options: tuple[str, ...]) -> Any:
    def check(_inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        if value not in options:
            raise ValueError(f"one of {', '.join(options)}")

    return check


def _in_range(lo: float, hi: float) -> Any:
    def check(_inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        if not lo <= value <= hi:
            raise ValueError(f"a number from {lo:g} to {hi:g}")

    return check


@attrs.frozen
class DataConfig:
    candles_dir: str = setting(str(DEFAULT_SHARED_DATA / "candles" / "binance"), env=("CANDLES_DIR",))
    store_dir: str = setting("data", env=("DATA_DIR",))
    exchange: str = setting("binance")
    symbols: tuple[str, ...] = setting(
        ("BTC/USDT", "ETH/USDT", "BNB/USDT"), env=("SYMBOLS",), allowed="comma-separated pairs like BTC/USDT"
    )
    timeframe: str = setting("5m", env=("TIMEFRAME",))
    fetch_since: str = setting("2020-01-01", allowed="a date YYYY-MM-DD")
    # conflicting duplicate bars and OHLC violations at import (domain.cleaning.ConflictPolicy)
    conflict_policy: str = setting(
        "refuse", env=("DATA_CONFLICT_POLICY",), validator=_one_of(("refuse", "keep-first", "drop-bar"))
    )


@attrs.frozen
class RiskConfig:
    kill_switch: bool = setting(False, env=("KILL_SWITCH",))
    max_signals_per_hour: int = setting(10, env=("MAX_SIGNALS_PER_HOUR",), validator=_in_range(0, 1000))
    max_signals_per_hour_high: int = setting(5, env=("MAX_SIGNALS_PER_HOUR_HIGH",), validator=_in_range(0, 1000))
    challenge: str = setting("two-step", env=("FTMO_CHALLENGE",), validator=_one_of(CHALLENGES))
    initial_balance: float = setting(100_000.0, env=("FTMO_INITIAL_BALANCE",), validator=_in_range(1, 1e9))
    # 0 = the chosen challenge's own: FTMO's limits (two-step 5/10, one-step 3/10) and our buffers at
    # 90% of them (4.5/9, one-step 2.7/9); composition.settings resolves them, nothing else reads them
    daily_loss_limit_pct: float = setting(
        0.0, validator=_in_range(0, 100), allowed="0 (the challenge's: 5 two-step, 3 one-step) or 0.1-100"
    )
    max_loss_limit_pct: float = setting(0.0, validator=_in_range(0, 100), allowed="0 (the challenge's: 10) or 0.1-100")
    daily_buffer_pct: float = setting(
        0.0,
        env=("DAILY_LOSS_BUFFER_PCT",),
        validator=_in_range(0, 100),
        allowed="0 (90% of the daily limit: 4.5 two-step, 2.7 one-step) or 0.1-100",
    )
    total_buffer_pct: float = setting(
        0.0,
        env=("TOTAL_LOSS_BUFFER_PCT",),
        validator=_in_range(0, 100),
        allowed="0 (90% of the max-loss limit: 9) or 0.1-100",
    )
    flatten_on_floor: bool = setting(
        True,
        env=("FLATTEN_ON_FLOOR",),
        allowed="true or false (true: equity below a buffered floor closes all and halts)",
    )
    max_open_positions: int = setting(3, env=("MAX_OPEN_POSITIONS",), validator=_in_range(1, 1000))
    max_positions_per_pair: int = setting(1, env=("MAX_POSITIONS_PER_PAIR",), validator=_in_range(1, 1000))
    risk_per_trade_pct: float = setting(0.5, env=("RISK_PER_TRADE_PCT",), validator=_in_range(0.0, 5))
    backoff_losses: int = setting(2, validator=_in_range(1, 100))
    backoff_window_minutes: int = setting(60, validator=_in_range(1, 1440))
    backoff_risk_reduction_pct: float = setting(50.0, env=("BACKOFF_RISK_REDUCTION_PCT",), validator=_in_range(0, 100))


@attrs.frozen
class ConfidenceConfig:
    ensemble_weights: str = setting(
        "auto",
        env=("ENSEMBLE_WEIGHTS",),
        allowed="auto (the plan's weights by the enabled plugins: 50/50; with sentiment "
        "30/35/35; with rl 30/35/25/10) or comma-separated name=weight, "
        "e.g. lstm=0.5,transformer=0.5",
    )
    conservative_bias: float = setting(0.05, validator=_in_range(0, 0.5))
    threshold: float = setting(0.55, env=("CONFIDENCE_THRESHOLD",), validator=_in_range(0.5, 1.0))
    tier_low: float = setting(0.55, validator=_in_range(0.5, 1.0))
    tier_medium: float = setting(0.60, validator=_in_range(0.5, 1.0))
    tier_high: float = setting(0.68, validator=_in_range(0.5, 1.0))
    hysteresis_scans: int = setting(2, validator=_in_range(1, 10))
    pattern_sample_floor: int = setting(30, validator=_in_range(1, 100000))


@attrs.frozen
class TelegramConfig:
    bot_token: str = setting("", env=("TELEGRAM_BOT_TOKEN",), secret=True)
    allowed_chat_ids: tuple[int, ...] = setting(
        (), env=("TELEGRAM_ALLOWED_CHAT_IDS",), allowed="comma-separated integer chat ids"
    )
    base_url: str = setting("https://api.telegram.org/bot", env=("TELEGRAM_BASE_URL",))


@attrs.frozen
class DatabaseConfig:
    url: str = setting("sqlite:///var/trading_ai.sqlite3", env=("DATABASE_URL",), secret=False)


@attrs.frozen
class BrokerConfig:
    kind: str = setting("paper", env=("BROKER",), validator=_one_of(BROKERS))
    shim_url: str = setting("http://127.0.0.1:8765", env=("SHIM_URL",))
    shim_token: str = setting("", env=("SHIM_TOKEN",), secret=True)
    metaapi_token: str = setting("", env=("METAAPI_TOKEN",), secret=True)
    metaapi_account_id: str = setting("", env=("METAAPI_ACCOUNT_ID",))
    mt5_login: str = setting("", env=("MT5_LOGIN",))
    mt5_password: str = setting("", env=("MT5_PASSWORD",), secret=True)
    mt5_server: str = setting("", env=("MT5_SERVER",))
    readonly_login: str = setting("", env=("MT5_READONLY_LOGIN",))
    readonly_password: str = setting("", env=("MT5_READONLY_PASSWORD",), secret=True)
    live_confirm: str = setting("", env=("LIVE_CONFIRM",), allowed="'yes' to allow live trading")
    paper_leverage: float = setting(
        2.0,
        env=("PAPER_LEVERAGE",),
        validator=_in_range(1, 100),
        allowed="the paper account's leverage (margin = notional / leverage); the backtest sizes with the same margin",
    )


@attrs.frozen
class RuntimeConfig:
    scan_interval_seconds: int = setting(120, env=("SCAN_INTERVAL_SECONDS",), validator=_in_range(1, 86400))
    health_host: str = setting("127.0.0.1", env=("HEALTH_HOST",))
    health_port: int = setting(8080, env=("HEALTH_PORT",), validator=_in_range(0, 65535))
    latency_sla_ms: int = setting(500, env=("LATENCY_SLA_MS",), validator=_in_range(1, 600000))
    dashboard_port: int = setting(
        -1,
        env=("DASHBOARD_PORT",),
        validator=_in_range(-1, 65535),
        allowed="-1 (off), 0 (any free port) or a port; always bound to 127.0.0.1",
    )
    dashboard_token: str = setting(
        "", env=("DASHBOARD_TOKEN",), secret=True, allowed="the dashboard's access token (empty: a random one per run)"
    )


@attrs.frozen
class LoggingConfig:
    level: str = setting("INFO", env=("LOG_LEVEL",), validator=_one_of(("DEBUG", "INFO", "WARNING", "ERROR")))
    format: str = setting("auto", env=("LOG_FORMAT",), validator=_one_of(("auto", "json", "console")))
    file: str = setting("", env=("LOG_FILE",), allowed="a path for JSON log lines, or empty")
    console_level: str = setting(
        "",
        env=("LOG_CONSOLE_LEVEL",),
        validator=_one_of(("", "DEBUG", "INFO", "WARNING", "ERROR")),
        allowed="empty (same as LOG_LEVEL) or DEBUG, INFO, WARNING, ERROR",
    )


@attrs.frozen
class TrainingConfig:
    models_dir: str = setting("models", env=("MODELS_DIR",))
    runs_dir: str = setting("runs", env=("RUNS_DIR",))
    device: str = setting("auto", env=("TORCH_DEVICE",), validator=_one_of(("auto", "cpu", "cuda")))


@attrs.frozen
class PluginsConfig:
    disabled: tuple[str, ...] = setting(
        (), env=("PLUGINS_DISABLED",), allowed="comma-separated plugin names (see trading-ai plugins list)"
    )


@attrs.frozen
class SentimentConfig:
    """The sentiment plugin (plugins/sentiment, extra [sentiment]); read by the plugin only."""

    subreddits: tuple[str, ...] = setting(
        ("cryptocurrency", "bitcoin"), env=("SENTIMENT_SUBREDDITS",), allowed="comma-separated subreddit names"
    )
    reddit_client_id: str = setting("", env=("REDDIT_CLIENT_ID",), secret=True)
    reddit_client_secret: str = setting("", env=("REDDIT_CLIENT_SECRET",), secret=True)
    reddit_user_agent: str = setting("trading-ai:sentiment:0.1 (by u/trading-ai)", env=("REDDIT_USER_AGENT",))
    reddit_oauth_url: str = setting("https://oauth.reddit.com", env=("REDDIT_OAUTH_URL",))
    reddit_url: str = setting("https://www.reddit.com", env=("REDDIT_URL",))
    reddit_posts_per_poll: int = setting(100, validator=_in_range(1, 1000))
    cryptopanic_token: str = setting("", env=("CRYPTOPANIC_TOKEN",), secret=True)
    cryptopanic_url: str = setting("https://cryptopanic.com/api/v1/posts/", env=("CRYPTOPANIC_URL",))
    cryptopanic_filter: str = setting(
        "", validator=_one_of(("", "rising", "hot", "bullish", "bearish", "important", "saved", "lol"))
    )
    cryptopanic_kind: str = setting("news", validator=_one_of(("news", "media", "all")))
    cryptopanic_requests_per_day: int = setting(
        100, validator=_in_range(0, 1_000_000), allowed="the daily request budget (0 = CryptoPanic off)"
    )
    cryptopanic_cache_seconds: int = setting(300, validator=_in_range(0, 86400))
    cryptopanic_max_pages: int = setting(2, validator=_in_range(1, 100))
    poll_seconds: int = setting(300, env=("SENTIMENT_POLL_SECONDS",), validator=_in_range(1, 86400))
    timeout_seconds: float = setting(10.0, validator=_in_range(0.1, 300))
    window_minutes: int = setting(60, validator=_in_range(1, 1440))
    block_bound: float = setting(
        0.5,
        env=("SENTIMENT_BLOCK_BOUND",),
        validator=_in_range(0, 1),
        allowed="0 (filter off) to 1: a signal against |score| >= this is blocked",
    )


@attrs.frozen
class GanConfig:
    """The GAN augmentation plugin (plugins/gan, docs/gan.md); read by the plugin and `trading-ai gan`."""

    enabled: bool = setting(
        False, env=("GAN_ENABLED",), allowed="true only after `trading-ai gan ablation` said it helps"
    )
    share: float = setting(
        0.10,
        env=("GAN_SHARE",),
        validator=_in_range(0, 0.20),
        allowed="synthetic share of a training split, 0 to 0.20 (refused above 20 %)",
    )
    steps: int = setting(600, validator=_in_range(1, 1_000_000))
    window: int = setting(64, validator=_in_range(8, 4096))
    hidden: int = setting(32, validator=_in_range(4, 1024))
    w1_max: float = setting(0.30, validator=_in_range(0, 100))
    kurtosis_ratio_max: float = setting(3.0, validator=_in_range(1, 1000))
    hill_ratio_max: float = setting(1.5, validator=_in_range(1, 1000))
    acf_r_max: float = setting(0.05, validator=_in_range(0, 2))
    acf_abs_max: float = setting(0.05, validator=_in_range(0, 2))
    acf_sq_max: float = setting(0.05, validator=_in_range(0, 2))
    clustering_min: float = setting(0.05, validator=_in_range(-1, 1))
    leverage_max: float = setting(0.10, validator=_in_range(0, 2))
    regime_tv_max: float = setting(0.20, validator=_in_range(0, 1))
    hallucinated_max: float = setting(0.02, validator=_in_range(0, 1))
    discriminative_max: float = setting(0.20, validator=_in_range(0, 0.5))
    predictive_ratio_max: float = setting(1.25, validator=_in_range(1, 1000))


@attrs.frozen
class EventsConfig:
    """Runtime events (adapters/events, docs/events.md): in-process by default, or Kafka."""

    bus: str = setting("in_process", env=("EVENT_BUS",), validator=_one_of(("in_process", "kafka")))
    kafka_bootstrap_servers: str = setting(
        "127.0.0.1:9092", env=("KAFKA_BOOTSTRAP_SERVERS",), allowed="host:port[,host:port...]"
    )
    kafka_topic_prefix: str = setting("trading-ai.", env=("KAFKA_TOPIC_PREFIX",))
    kafka_group: str = setting(
        "trading-ai-downstream",
        env=("KAFKA_GROUP",),
        allowed="the downstream consumer group (events tail, kafka_lag_ms); empty = no lag",
    )
    kafka_buffer_size: int = setting(10_000, env=("KAFKA_BUFFER_SIZE",), validator=_in_range(1, 10_000_000))
    kafka_request_timeout_ms: int = setting(5_000, env=("KAFKA_REQUEST_TIMEOUT_MS",), validator=_in_range(100, 600_000))
    kafka_lag_interval_s: float = setting(15.0, env=("KAFKA_LAG_INTERVAL_S",), validator=_in_range(0.1, 3600))
    kafka_lag_alert_ms: int = setting(1_000, env=("KAFKA_LAG_ALERT_MS",), validator=_in_range(1, 86_400_000))
    kafka_lag_alert_minutes: float = setting(5.0, env=("KAFKA_LAG_ALERT_MINUTES",), validator=_in_range(0, 1440))
    kafka_session_timeout_ms: int = setting(
        10_000, env=("KAFKA_SESSION_TIMEOUT_MS",), validator=_in_range(1_000, 300_000)
    )


@attrs.frozen
class BacktestConfig:
    start: str = setting("", allowed="a date YYYY-MM-DD, or empty for the first bar")
    end: str = setting("", allowed="a date YYYY-MM-DD (exclusive), or empty for the last bar")
    horizon_bars: int = setting(3, validator=_in_range(1, 100000))
    fee_bps: float = setting(3.25, validator=_in_range(0, 1000))
    latency_ms: float = setting(250.0, validator=_in_range(0, 600000))
    cost_model: str = setting("empirical", validator=_one_of(("empirical", "fixed")))
    spread_bps: float = setting(-1.0, allowed="bps >= 0 (with cost_model = fixed)")
    slippage_bps: float = setting(-1.0, allowed="bps >= 0 (with cost_model = fixed)")
    reports_dir: str = setting("reports")
    run_name: str = setting("", allowed="the report folder's name; empty = derived from the settings")
    periods: int = setting(1, validator=_in_range(1, 64))
    workers: int = setting(1, validator=_in_range(1, 64))


@attrs.frozen
class TuningConfig:
    """`trading-ai tune` (docs/scale.md): the Optuna study, its search space and its folds."""

    storage: str = setting(
        "",
        env=("OPTUNA_STORAGE",),
        secret=True,
        allowed="empty (SQLite <models_dir>/optuna.sqlite3), sqlite:///PATH or postgresql+psycopg://user@host/db",
    )
    study: str = setting("trading-ai", env=("TUNE_STUDY",))
    space: str = setting(
        "sl_atr_mult=1.0..3.0,reward_risk=1.0..3.0,tier_low=0.55..0.62,tier_medium=0.58..0.66,"
        "tier_high=0.62..0.75,hysteresis_scans=1..4,horizon_bars=2..12",
        allowed="comma-separated name=lo..hi (integers when both ends are integers)",
    )
    folds: int = setting(4, validator=_in_range(1, 32))
    batch: int = setting(4, validator=_in_range(1, 256))
    challenge_runs: int = setting(10, validator=_in_range(1, 10_000))
    retries: int = setting(1, validator=_in_range(0, 10))


@attrs.frozen
class Config:
    mode: str = setting("demo", env=("MODE",), validator=_one_of(MODES))
    seed: int = setting(42, env=("SEED",), validator=_in_range(0, 2**32 - 1))
    data: DataConfig = attrs.field(factory=DataConfig)
    risk: RiskConfig = attrs.field(factory=RiskConfig)
    confidence: ConfidenceConfig = attrs.field(factory=ConfidenceConfig)
    telegram: TelegramConfig = attrs.field(factory=TelegramConfig)
    database: DatabaseConfig = attrs.field(factory=DatabaseConfig)
    broker: BrokerConfig = attrs.field(factory=BrokerConfig)
    runtime: RuntimeConfig = attrs.field(factory=RuntimeConfig)
    logging: LoggingConfig = attrs.field(factory=LoggingConfig)
    training: TrainingConfig = attrs.field(factory=TrainingConfig)
    backtest: BacktestConfig = attrs.field(factory=BacktestConfig)
    plugins: PluginsConfig = attrs.field(factory=PluginsConfig)
    sentiment: SentimentConfig = attrs.field(factory=SentimentConfig)
    events: EventsConfig = attrs.field(factory=EventsConfig)
    tuning: TuningConfig = attrs.field(factory=TuningConfig)
    gan: GanConfig = attrs.field(factory=GanConfig)


# --- loading -------------------------------------------------------------------------------------

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _is_section(tp: Any) -> bool:
    return attrs.has(tp)


def _env_names(section: str | None, field: attrs.Attribute[Any]) -> list[str]:
    prefix = "TRADING_AI_" + (f"{section.upper()}_" if section else "")
    return [prefix + field.name.upper(), *field.metadata.get("env", ())]


def _coerce(raw: Any, tp: Any, where: str, allowed: str) -> Any:
    """Turn a raw value (a TOML value or an env string) into the field's type, or fail naming `where`."""
    origin = typing.get_origin(tp)
    try:
        if tp is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError
        if tp is int:
            if isinstance(raw, bool):
                raise ValueError
            return int(str(raw).strip())
        if tp is float:
            if isinstance(raw, bool):
                raise ValueError
            return float(str(raw).strip())
        if tp is str:
            return str(raw)
        if origin is tuple:
            (item_tp, _ellipsis) = typing.get_args(tp)
            items = raw if isinstance(raw, (list, tuple)) else [p for p in str(raw).split(",") if p.strip()]
            try:
                return tuple(_coerce(i.strip() if isinstance(i, str) else i, item_tp, where, allowed) for i in items)
            except ConfigError:
                raise ValueError from None
    except (TypeError, ValueError):
        pass
    else:
        raise AssertionError(f"unsupported config type {tp!r}")  # a bug in this module, not user input
    expected = allowed or {bool: "true or false", int: "an integer", float: "a number"}.get(tp, str(tp))
    raise ConfigError(f"{where}={raw!r} is invalid: expected {expected}")


def _read_dotenv(path: Path) -> dict[str, str]:
    """Minimal .env reader: KEY=VALUE lines, optional quotes, # comments; never executes anything."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"env file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"env file {path} cannot be read: {exc.strerror or exc}") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :]
        if "=" not in stripped:
            raise ConfigError(f"{path}:{lineno}: expected KEY=VALUE, got {stripped[:40]!r}")
        key, value = stripped.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif " #" in value or value.startswith("#"):
            value = value.split("#", 1)[0].rstrip() if value.startswith("#") else value.split(" #", 1)[0].rstrip()
        values[key.strip()] = value
    return values


def _read_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file {path} not found")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror or exc}") from None


def _merge_section(
    cls: Any, section: str | None, file_values: Mapping[str, Any], env: Mapping[str, str], dotenv: Mapping[str, str]
) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    out: dict[str, Any] = {}
    unknown = set(file_values) - {f.name for f in attrs.fields(cls)}
    if unknown:
        where = f"[{section}]" if section else "top level"
        valid = ", ".join(f.name for f in attrs.fields(cls))
        raise ConfigError(f"config file {where}: unknown key(s) {', '.join(sorted(unknown))}; valid: {valid}")
    for field in attrs.fields(cls):
        tp = hints[field.name]
        if _is_section(tp):
            sub = file_values.get(field.name, {})
            if not isinstance(sub, Mapping):
                raise ConfigError(f"config file: [{field.name}] must be a table")
            out[field.name] = _merge_section(tp, field.name, sub, env, dotenv)
            continue
        allowed = field.metadata.get("allowed", "")
        label = f"{section}.{field.name}" if section else field.name
        where, raw = "", None
        if field.name in file_values:
            where, raw = f"config {label}", file_values[field.name]
        for source in (dotenv, env):
            for name in _env_names(section, field):
                if name in source:
                    where, raw = name, source[name]
        if not where:
            continue
        value = _coerce(raw, tp, where, allowed)
        if field.validator is not None:
            try:
                field.validator(None, field, value)
            except ValueError as exc:
                raise ConfigError(f"{where}={raw!r} is invalid: expected {exc}") from None
        out[field.name] = value
    return out


_converter = cattrs.Converter()


def known_env_names() -> list[str]:
    """Every environment variable name some setting reads (TRADING_AI_<SECTION>_<FIELD> and short names)."""
    names: list[str] = []

    def visit(cls: Any, section: str | None) -> None:
        hints = typing.get_type_hints(cls)
        for field in attrs.fields(cls):
            if _is_section(hints[field.name]):
                visit(hints[field.name], field.name)
            else:
                names.extend(_env_names(section, field))

    visit(Config, None)
    return names


# Variables with the prefix that are not settings: the test and CI switches, deployment paths.
NON_SETTING_ENV = frozenset(
    {"TRADING_AI_REQUIRE_PG", "TRADING_AI_REQUIRE_BROWSER", "TRADING_AI_HOME", "TRADING_AI_ARTIFACTS_DIR"}
)


def unknown_prefixed_env(env: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """(name, closest known name or None) for each TRADING_AI_* variable that no setting reads: a typo
    there is otherwise silently ignored."""
    import difflib

    known = known_env_names()
    known_set = set(known)
    out = []
    for name in sorted(env):
        if (
            name.startswith("TRADING_AI_")
            and name not in known_set
            and name not in NON_SETTING_ENV
            and not name.startswith("TRADING_AI_TEST")
        ):
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            out.append((name, close[0] if close else None))
    return out


def load_config(
    config_path: str | os.PathLike[str] | None = None,
    env_file: str | os.PathLike[str] | None = ".env",
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the effective Config; raise ConfigError naming the first bad value."""
    env = dict(os.environ if environ is None else environ)
    file_values = _read_toml(Path(config_path)) if config_path else {}
    dotenv = _read_dotenv(Path(env_file)) if env_file else {}
    merged = _merge_section(Config, None, file_values, env, dotenv)
    return _converter.structure(merged, Config)


# --- presentation ---------------------------------------------------------------------------------

REDACTED = "***redacted***"


def secret_values(config: Config) -> list[str]:
    """Every non-empty secret in the config, for the log redactor."""
    found: list[str] = []

    def visit(obj: Any) -> None:
        for field in attrs.fields(type(obj)):
            value = getattr(obj, field.name)
            if attrs.has(type(value)):
                visit(value)
            elif field.metadata.get("secret") and value:
                found.append(str(value))

    visit(config)
    return found


def redacted_dict(config: Config) -> dict[str, Any]:
    """The effective config as a plain dict with secrets replaced; passwords in URLs masked too."""
    from composition.redaction import redact_text

    def visit(obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in attrs.fields(type(obj)):
            value = getattr(obj, field.name)
            if attrs.has(type(value)):
                out[field.name] = visit(value)
            elif field.metadata.get("secret"):
                out[field.name] = REDACTED if value else ""
            elif isinstance(value, str):
                out[field.name] = redact_text(value)
            else:
                out[field.name] = list(value) if isinstance(value, tuple) else value
        return out

    return visit(config)


def env_example_text() -> str:
    """The documented `.env.example`: every variable, its default, what is allowed, its other names."""
    lines = [
        "# trading-ai environment variables. Copy to .env and edit; the environment wins over .env,",
        "# .env wins over a --config TOML file, which wins over the defaults shown here.",
        "# Every field can also be set as TRADING_AI_<SECTION>_<FIELD> (e.g. TRADING_AI_RISK_KILL_SWITCH).",
        "# Secrets are read only from here or the environment and are redacted in every log line.",
        "# Regenerate with: trading-ai config env-example > .env.example",
        "",
    ]

    def visit(cls: Any, section: str | None) -> None:
        hints = typing.get_type_hints(cls)
        for field in attrs.fields(cls):
            tp = hints[field.name]
            if attrs.has(tp):
                lines.append(f"# --- [{field.name}] ---")
                visit(tp, field.name)
                lines.append("")
                continue
            names = _env_names(section, field)
            name = names[-1] if len(names) > 1 else names[0]
            factory = getattr(field.default, "factory", None)  # an attrs.Factory default
            default = factory() if callable(factory) else field.default
            if isinstance(default, bool):
                value = "true" if default else "false"
            elif isinstance(default, tuple):
                value = ",".join(str(v) for v in default)
            else:
                value = str(default)
            if field.metadata.get("secret"):
                value = ""
            if value.startswith(str(PROJECT_ROOT.parent)):
                value = "../shared/data/candles/binance"
            notes = []
            if field.metadata.get("secret"):
                notes.append("secret")
            if field.metadata.get("allowed"):
                notes.append(field.metadata["allowed"])
            others = [n for n in names if n != name]
            if others:
                notes.append("also " + ", ".join(others))
            lines.append(f"{name}={value}" + (f"  # {'; '.join(notes)}" if notes else ""))

    visit(Config, None)
    return "\n".join(lines).rstrip() + "\n"
