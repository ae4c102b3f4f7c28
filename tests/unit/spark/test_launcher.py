"""The one spark-submit command line, for the foreground and the background launch."""

from __future__ import annotations

import sys

from kafkalab.settings import LabSettings
from kafkalab.spark.jobs import STREAMING_JOB, ForegroundJob, SparkSubmit, job_summary
from kafkalab.spark.spec import StreamingJobSpec

SPEC = StreamingJobSpec("raw_financial_transactions", "kafka:29092", "s3a://b/financial")


def test_the_lab_launch_is_its_spark_submit_with_the_job_and_its_arguments(tmp_path) -> None:
    settings = LabSettings(home=tmp_path)
    command = SparkSubmit.from_settings(
        settings, {"spark.sql.shuffle.partitions": "2"}
    ).streaming_command(SPEC)
    assert command == [
        str(tmp_path / "venv" / "bin" / "spark-submit"),
        "--conf",
        "spark.sql.shuffle.partitions=2",
        str(STREAMING_JOB),
        *SPEC.to_args(),
    ]
    # Jars, S3 keys and Delta settings come from spark-defaults.conf, not the command line.
    assert not any("s3a.secret.key" in part or "extraClassPath" in part for part in command)


def test_a_connection_launch_adds_master_name_and_deploy_mode_as_airflow_does() -> None:
    submit = SparkSubmit(
        binary="spark-submit",
        master="spark://spark-master:7077",
        deploy_mode="client",
        name="kafkalab-streaming-consumer",
        conf={"spark.executor.cores": "1"},
    )
    assert submit.command("job.py", ["a", "b"]) == [
        "spark-submit",
        "--master",
        "spark://spark-master:7077",
        "--conf",
        "spark.executor.cores=1",
        "--name",
        "kafkalab-streaming-consumer",
        "--deploy-mode",
        "client",
        "job.py",
        "a",
        "b",
    ]


def test_a_foreground_job_logs_every_line_and_keeps_its_summary_and_tail() -> None:
    script = (
        "import sys\n"
        "print('spark says hello', file=sys.stderr)\n"
        'print(\'{"query": "q", "error": "boom"}\', flush=True)\n'
        "print('after the summary', file=sys.stderr, flush=True)\n"
        "sys.exit(3)\n"
    )
    logged: list[str] = []
    finished = ForegroundJob([sys.executable, "-c", script], logged.append, tail_lines=2).run()
    assert finished.returncode == 3
    assert finished.outcome == {"query": "q", "error": "boom"}
    assert len(logged) == 3 and "spark says hello" in logged
    assert finished.log_tail.splitlines()[-1] == "after the summary"
    assert len(finished.log_tail.splitlines()) == 2


def test_the_summary_is_the_last_json_line_naming_a_query() -> None:
    lines = ['{"query": "a"}', '{"not": "a summary"}', '{"query": "b"}', "INFO done"]
    assert job_summary(lines) == {"query": "b"}
    assert job_summary(["INFO nothing"]) is None
