"""The event bus the configuration asks for (EVENT_BUS): the in-process bus, or Kafka (docs/events.md)."""

from __future__ import annotations

import logging
from typing import Any

from composition.config import Config
from domain.errors import ConfigError


def kafka_settings(config: Config) -> Any:
    """adapters.events.kafka.KafkaSettings from the `events` section (the only reader of those fields)."""
    from adapters.events.kafka import KafkaSettings

    e = config.events
    return KafkaSettings(
        bootstrap_servers=e.kafka_bootstrap_servers,
        topic_prefix=e.kafka_topic_prefix,
        buffer_size=e.kafka_buffer_size,
        request_timeout_ms=e.kafka_request_timeout_ms,
        lag_group=e.kafka_group,
        lag_interval_s=e.kafka_lag_interval_s,
        lag_alert_ms=e.kafka_lag_alert_ms,
        lag_alert_minutes=e.kafka_lag_alert_minutes,
        session_timeout_ms=e.kafka_session_timeout_ms,
    )


def build_event_bus(config: Config, mode: str, log: logging.Logger) -> Any:
    """A started bus; the caller closes it (`bus.close()`) when the service stops."""
    if config.events.bus == "kafka":
        try:
            from adapters.events.kafka import KafkaEventBus
        except ImportError as exc:  # the [kafka] extra is not installed
            raise ConfigError(f"EVENT_BUS=kafka needs aiokafka: pip install -e '.[kafka]' ({exc})") from None
        return KafkaEventBus(kafka_settings(config), mode=mode, log=log).start()
    from adapters.events.in_process import InProcessEventBus

    return InProcessEventBus()
