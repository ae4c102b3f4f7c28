"""The one place a Kafka client's configuration is built.

A client starts from a *connection config*: the `kafka_default` Airflow connection's
extras inside tasks (``LabKafkaHook.client_config()``), the lab's settings everywhere
else (``connection_config(settings)``). Producers, consumers and admin clients add
their role's settings on top, so a connection that carries TLS or SASL options keeps
them in every client built from it, instead of being reduced to a bootstrap string.
A bare bootstrap string is still accepted, for callers that have nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafkalab.settings import LabSettings

ClientConfig = dict[str, Any]
# Where a client's connection comes from: the lab's settings, a connection's config
# (confluent-kafka keys), or just a bootstrap list.
ConnectionSource = LabSettings | Mapping[str, Any] | str

# Consumer-only keys a connection may carry; an admin client or producer given them
# makes librdkafka warn once per key, and a consumer sets its own.
CONSUMER_ONLY_KEYS = ("group.id", "auto.offset.reset", "enable.auto.commit")


def connection_config(source: ConnectionSource) -> ClientConfig:
    """What every client built from ``source`` shares: where the brokers are, how to talk.

    Consumer-only keys are left out: each role below adds its own settings.
    """
    if isinstance(source, LabSettings):
        return {"bootstrap.servers": source.kafka_bootstrap}
    if isinstance(source, str):
        return {"bootstrap.servers": source}
    return {key: value for key, value in source.items() if key not in CONSUMER_ONLY_KEYS}


def admin_config(source: ConnectionSource, **overrides: Any) -> ClientConfig:
    return {**connection_config(source), **overrides}


def producer_config(source: ConnectionSource, **overrides: Any) -> ClientConfig:
    """The lab's producer: acknowledged by every in-sync replica, idempotent, batched.

    Set explicitly because client defaults have changed between versions; the
    idempotent producer is what makes "exactly once in Kafka, by id" hold across
    retries and leader changes.
    """
    return {
        **connection_config(source),
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        "compression.type": "lz4",
        "batch.num.messages": 10_000,
        **overrides,
    }


def consumer_config(source: ConnectionSource, group: str, **overrides: Any) -> ClientConfig:
    """A consumer that commits only when told to (the lab decides what counts as read)."""
    return {
        **connection_config(source),
        "group.id": group,
        "enable.auto.commit": False,
        "enable.partition.eof": False,
        **overrides,
    }
