from __future__ import annotations

import pytest

from kafkalab.lab.stack.environment import connection_uris
from kafkalab.settings import LabSettings
from kafkalab.spark.conf import spark_defaults


def test_defaults_are_the_local_profile() -> None:
    settings = LabSettings()
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert settings.s3_endpoint == "http://127.0.0.1:9000"
    assert settings.airflow_url == "http://127.0.0.1:8080"


def test_environment_overrides_reach_every_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKALAB_KAFKA_BOOTSTRAP", "kafka:29092")
    monkeypatch.setenv("KAFKALAB_S3_ENDPOINT", "http://objectstore:9000")
    settings = LabSettings()
    assert '"bootstrap.servers": "kafka:29092"' in connection_uris(settings)["kafka_default"]
    assert "http://objectstore:9000" in connection_uris(settings)["lab_object_store"]
    assert spark_defaults(settings)["spark.hadoop.fs.s3a.endpoint"] == "http://objectstore:9000"


def test_an_invalid_setting_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKALAB_KAFKA_BROKER_PORT", "not-a-port")
    with pytest.raises(ValueError, match="kafka_broker_port"):
        LabSettings()


def test_each_waiter_outlasts_the_retries_it_waits_for() -> None:
    from kafkalab.generator.http_transport import REQUEST_TIMEOUT_SECONDS

    delivery = LabSettings().ingestor_delivery_timeout_seconds
    # Kafka's broker.session.timeout.ms (9 s) passes before a lost leader is replaced.
    assert delivery > 9.0 * 2
    # A request the generator gives up on while the ingestor still retries is sent again.
    assert delivery * 1.5 < REQUEST_TIMEOUT_SECONDS
