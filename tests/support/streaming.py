from __future__ import annotations

import subprocess
from dataclasses import dataclass
from typing import Any

from kafkalab.generator.runner import fill_topic
from kafkalab.lab.stack.environment import child_environment
from kafkalab.settings import LabSettings

# Re-exported for the tests that launch the job by its command line, as the lab guide does.
from kafkalab.spark.jobs import STREAMING_JOB as STREAMING_JOB
from kafkalab.spark.jobs import SparkSubmit, job_summary
from kafkalab.spark.spec import StreamingJobSpec

# Every StreamingJobSpec field but the Kafka address set, none to its default: what the
# unit tests round-trip through the command line and the operators.
EVERY_JOB_OPTION = {
    "topic": "raw_financial_transactions",
    "output_path": "s3a://raw-data-bucket/financial",
    "starting_offsets": "latest",
    "trigger": "processingTime=2 seconds",
    "consumer_group": "spark-financial",
    "checkpoint": "s3a://raw-data-bucket/checkpoints/financial",
    "quarantine_path": "s3a://raw-data-bucket/financial_bad",
    "stream": "financial",
    "max_offsets_per_trigger": 5000,
    "min_partitions": 6,
    "run_for": 600.0,
    "stop_when_idle": 30.0,
    "query_name": "financial_replay",
}


@dataclass
class JobResult:
    returncode: int
    outcome: dict
    stderr: str


def produce_transactions(settings: LabSettings, topic: str, count: int, run_id: str):
    """``count`` valid financial transactions straight into ``topic``."""
    return fill_topic(settings.kafka_bootstrap, topic, count, run_id=run_id)


def streaming_spec(
    settings: LabSettings, topic: str, output: str, **options: Any
) -> StreamingJobSpec:
    """A streaming job over ``topic`` (financial events) into ``output``; ``options`` are
    StreamingJobSpec fields (``trigger="availableNow"``, ``consumer_group=...``)."""
    options.setdefault("stream", "financial")
    return StreamingJobSpec(
        topic=topic, bootstrap=settings.kafka_bootstrap, output_path=output, **options
    )


def streaming_command(settings: LabSettings, topic: str, output: str, **options: Any) -> list[str]:
    spec = streaming_spec(settings, topic, output, **options)
    return SparkSubmit.from_settings(settings).streaming_command(spec)


def run_streaming_job(settings: LabSettings, topic: str, output: str, **options: Any) -> JobResult:
    result = subprocess.run(
        streaming_command(settings, topic, output, **options),
        env=child_environment(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )
    outcome = job_summary(result.stdout.splitlines()) or {}
    return JobResult(result.returncode, outcome, result.stderr[-5000:])
