"""The Spark operators take the job spec's options, all templated, and launch via SparkSubmit."""

from __future__ import annotations

import json
import stat
from dataclasses import fields

import pytest
from airflow.exceptions import AirflowException
from airflow.sdk import Connection

from kafkalab.operators import spark as spark_operators
from kafkalab.operators.spark import SparkStreamingJobOperator, StartStreamingJobOperator
from kafkalab.spark.spec import JOB_OPTIONS, StreamingJobSpec
from tests.support.streaming import EVERY_JOB_OPTION as EVERY_OPTION


class FakeKafkaHook:
    bootstrap_servers = "kafka:29092"

    def __init__(self, kafka_config_id: str) -> None:
        self.kafka_config_id = kafka_config_id


@pytest.fixture
def kafka_connection(monkeypatch) -> None:
    monkeypatch.setattr(spark_operators, "LabKafkaHook", FakeKafkaHook)


def test_the_example_covers_every_option() -> None:
    assert set(EVERY_OPTION) == set(JOB_OPTIONS)


def test_every_job_option_is_templated() -> None:
    assert set(SparkStreamingJobOperator.template_fields) == {*JOB_OPTIONS, "spark_conf", "name"}
    assert set(StartStreamingJobOperator.template_fields) == {*JOB_OPTIONS, "spark_conf", "handle"}


@pytest.mark.parametrize(
    "operator",
    [
        lambda: SparkStreamingJobOperator(task_id="spark", **EVERY_OPTION),
        lambda: StartStreamingJobOperator(task_id="start", handle="h", **EVERY_OPTION),
    ],
    ids=["foreground", "background"],
)
def test_every_option_reaches_the_spec(operator, kafka_connection) -> None:
    spec = operator().job_spec()
    assert spec == StreamingJobSpec(bootstrap="kafka:29092", **EVERY_OPTION)


def test_defaults_a_run_to_the_end_and_a_background_job(kafka_connection) -> None:
    required = {"topic": "t", "output_path": "s3a://b/t"}
    foreground = SparkStreamingJobOperator(task_id="spark", **required).job_spec()
    background = StartStreamingJobOperator(task_id="start", handle="h", **required).job_spec()
    assert foreground.trigger == "availableNow"
    assert background.trigger == "processingTime=5 seconds"
    assert foreground.starting_offsets == background.starting_offsets == "earliest"
    unset = {f.name for f in fields(StreamingJobSpec) if f.default is None}
    assert all(getattr(foreground, name) is None for name in unset)


def test_an_offset_snapshot_becomes_spark_json(kafka_connection) -> None:
    snapshot = {"topics": {"t": {"0": 5, "1": 7}}}
    operator = StartStreamingJobOperator(
        task_id="start", handle="h", topic="t", output_path="o", starting_offsets=snapshot
    )
    assert json.loads(operator.job_spec().starting_offsets) == {"t": {"0": 5, "1": 7}}


def test_a_failing_foreground_job_names_its_command_error_and_log_tail(
    tmp_path, monkeypatch, kafka_connection
) -> None:
    fake_submit = tmp_path / "spark-submit"
    fake_submit.write_text(
        "#!/bin/sh\n"
        "echo 'WARN NativeCodeLoader: no native hadoop' >&2\n"
        'echo \'{"query": "kafkalab_t", "error": "Delta write refused"}\'\n'
        "echo 'ERROR the last words of the driver' >&2\n"
        "exit 1\n"
    )
    fake_submit.chmod(fake_submit.stat().st_mode | stat.S_IEXEC)
    connection = Connection(
        conn_id="spark_default",
        conn_type="spark",
        host="local[*]",
        extra=json.dumps({"deploy-mode": "client", "spark-binary": str(fake_submit)}),
    )
    monkeypatch.setattr(spark_operators.BaseHook, "get_connection", lambda conn_id: connection)
    operator = SparkStreamingJobOperator(task_id="spark", topic="t", output_path="s3a://b/t")

    with pytest.raises(AirflowException) as failure:
        operator.execute({})
    message = str(failure.value)
    assert message.startswith(
        f"Cannot execute: {fake_submit} --master local[*] --name kafkalab-streaming-consumer"
        " --deploy-mode client "
    )
    assert "Error code is: 1." in message
    assert "The streaming query failed: Delta write refused" in message
    assert message.endswith("ERROR the last words of the driver")
