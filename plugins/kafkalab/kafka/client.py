"""The one place a Kafka client's configuration is built.

A client starts from a *connection config*: the `kafka_default` Airflow connection's
extras inside tasks (``LabKafkaHook.client_config()``), the lab's settings everywhere
else (``connection_config(settings)``). Producers, consumers and admin clients add
their role's settings on top, so a connection that carries TLS or SASL options keeps
them in every client built from it, instead of being reduced to a bootstrap string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafkalab.settings import LabSettings

ClientConfig = dict[str, Any]

# Consumer-only keys a connection may carry; an admin client or producer given them
# makes librdkafka warn once per key.
CONSUMER_ONLY_KEYS = ("group.id", "auto.offset.reset", "enable.auto.commit")


def connection_config(source: LabSettings | Mapping[str, Any] | str) -> ClientConfig:
    """The connection part of a config: from settings, a config mapping, or a bootstrap list."""
    if isinstance(source, LabSettings):
        return {"bootstrap.servers": source.kafka_bootstrap}
    if isinstance(source, str):
        return {"bootstrap.servers": source}
    return dict(source)


def admin_config(source: LabSettings | Mapping[str, Any] | str) -> ClientConfig:
    config = connection_config(source)
    return {key: value for key, value in config.items() if key not in CONSUMER_ONLY_KEYS}


def producer_config(
    source: LabSettings | Mapping[str, Any] | str, **overrides: Any
) -> ClientConfig:
    """The lab's producer: acknowledged by every in-sync replica, idempotent, batched.

    Set explicitly because client defaults have changed between versions; the
    idempotent producer is what makes "exactly once in Kafka, by id" hold across
    retries and leader changes.
    """
    return {
        **admin_config(source),
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "compression.type": "lz4",
        "batch.num.messages": 10_000,
        **overrides,
    }


def consumer_config(
    source: LabSettings | Mapping[str, Any] | str, group: str, **overrides: Any
) -> ClientConfig:
    """A consumer that commits only when told to (the lab decides what counts as read)."""
    return {
        **admin_config(source),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        **overrides,
    }
