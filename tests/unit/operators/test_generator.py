"""The generator operators' rendered fields become one GeneratorConfig, without a command line."""

from __future__ import annotations

import json

import pytest

from kafkalab.generator.config import GeneratorConfig
from kafkalab.operators.generator import GeneratorRunOperator, StartGeneratorOperator


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_LAB_INGESTOR", "http://ingestor.test:8123")
    monkeypatch.setenv(
        "AIRFLOW_CONN_KAFKA_DEFAULT",
        json.dumps({"conn_type": "kafka", "extra": {"bootstrap.servers": "broker.test:9092"}}),
    )


def test_rendered_strings_become_typed_fields_and_empty_ones_none() -> None:
    operator = GeneratorRunOperator(
        task_id="generate", run_id="r1", count="200", batch_size="20", rate="None", seed="7"
    )
    config = operator.generator_config(concurrency=8)
    assert config == GeneratorConfig(
        target="http",
        ingestor_url="http://ingestor.test:8123",
        run_id="r1",
        count=200,
        batch_size=20,
        seed=7,
        concurrency=8,
    )


def test_a_kafka_run_names_the_connection_brokers_and_its_topics() -> None:
    operator = StartGeneratorOperator(
        task_id="load",
        run_id="scaling-1",
        target="kafka",
        topics={"financial": "scaling_topic"},
        financial_share="1.0",
        rate="500",
        duration="30",
    )
    config = operator.generator_config()
    assert (config.target, config.bootstrap, dict(config.topics)) == (
        "kafka",
        "broker.test:9092",
        {"financial": "scaling_topic"},
    )
    assert (config.rate, config.duration, config.financial_share) == (500.0, 30.0, 1.0)
    # What a background process is started with reads back as the same run.
    assert GeneratorConfig.from_args(config.to_args()) == config
