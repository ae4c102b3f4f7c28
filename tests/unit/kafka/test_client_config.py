"""The one client-config builder: every role starts from the connection, adds its own."""

from __future__ import annotations

import pytest

from kafkalab.kafka.client import (
    CONSUMER_ONLY_KEYS,
    admin_config,
    connection_config,
    consumer_config,
    producer_config,
)
from kafkalab.settings import LabSettings

# What an Airflow connection may carry: TLS and SASL next to the bootstrap list, and
# consumer settings meant for some other client.
SECURE_CONNECTION = {
    "bootstrap.servers": "broker-1:9093,broker-2:9093",
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "lab",
    "sasl.password": "not-a-secret",
    "ssl.ca.location": "/etc/kafka/ca.pem",
    "group.id": "someone-elses-group",
    "auto.offset.reset": "latest",
    "enable.auto.commit": True,
}
TLS_AND_SASL = {
    key: value for key, value in SECURE_CONNECTION.items() if key not in CONSUMER_ONLY_KEYS
}


def test_every_source_gives_the_same_connection() -> None:
    settings = LabSettings(KAFKALAB_KAFKA_BOOTSTRAP="broker:9092")
    expected = {"bootstrap.servers": "broker:9092"}
    assert connection_config(settings) == expected
    assert connection_config("broker:9092") == expected
    assert connection_config({"bootstrap.servers": "broker:9092"}) == expected


def test_the_connection_keeps_tls_and_sasl_and_drops_consumer_settings() -> None:
    assert connection_config(SECURE_CONNECTION) == TLS_AND_SASL


def test_building_a_config_leaves_the_source_untouched() -> None:
    source = dict(SECURE_CONNECTION)
    consumer_config(source, "g", **{"client.id": "x"})
    producer_config(source)
    assert source == SECURE_CONNECTION


@pytest.mark.parametrize("build", [admin_config, producer_config], ids=["admin", "producer"])
def test_admin_and_producer_get_no_consumer_only_keys(build) -> None:
    config = build(SECURE_CONNECTION)
    assert not set(CONSUMER_ONLY_KEYS) & set(config)
    assert config.items() >= TLS_AND_SASL.items()


def test_the_producer_sets_its_guarantees_explicitly() -> None:
    config = producer_config("broker:9092")
    assert config["acks"] == "all"
    assert config["enable.idempotence"] is True
    assert {"linger.ms", "compression.type", "batch.num.messages"} <= set(config)


def test_overrides_win_over_role_defaults() -> None:
    config = producer_config("broker:9092", **{"linger.ms": 50, "message.timeout.ms": 10_000})
    assert config["linger.ms"] == 50 and config["message.timeout.ms"] == 10_000
    assert admin_config("broker:9092", log_level=0) == {
        "bootstrap.servers": "broker:9092",
        "log_level": 0,
    }


def test_a_consumer_commits_only_when_told_to_and_uses_its_own_group() -> None:
    config = consumer_config(SECURE_CONNECTION, "kafkalab-reader")
    assert config["group.id"] == "kafkalab-reader"
    assert config["enable.auto.commit"] is False
    # The connection's auto.offset.reset was for another client; a consumer states its own.
    assert "auto.offset.reset" not in config
    assert config.items() >= TLS_AND_SASL.items()
    earliest = consumer_config(SECURE_CONNECTION, "g", **{"auto.offset.reset": "earliest"})
    assert earliest["auto.offset.reset"] == "earliest"
