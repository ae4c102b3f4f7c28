from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass

from kafkalab.generator.runner import GeneratorConfig, run_generator
from kafkalab.lab.stack.environment import child_environment
from kafkalab.settings import REPO_ROOT, LabSettings

STREAMING_JOB = REPO_ROOT / "spark_jobs" / "streaming_consumer.py"


@dataclass
class JobResult:
    returncode: int
    outcome: dict
    stderr: str


def create_topic(settings: LabSettings, topic: str, partitions: int = 3) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[
        topic
    ].result()


def produce_transactions(settings: LabSettings, topic: str, count: int, run_id: str):
    """``count`` valid financial transactions straight into ``topic``."""
    return run_generator(
        GeneratorConfig(
            target="kafka",
            bootstrap=settings.kafka_bootstrap,
            run_id=run_id,
            count=count,
            financial_share=1.0,
            topics={"financial": topic},
        )
    )


def streaming_command(settings: LabSettings, topic: str, output: str, *args: str) -> list[str]:
    return [
        str(settings.paths.venv / "bin" / "spark-submit"),
        str(STREAMING_JOB),
        topic,
        settings.kafka_bootstrap,
        output,
        "--stream",
        "financial",
        *args,
    ]


def run_streaming_job(settings: LabSettings, topic: str, output: str, *args: str) -> JobResult:
    result = subprocess.run(
        streaming_command(settings, topic, output, *args),
        env=child_environment(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )
    outcome = {}
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            outcome = json.loads(line)
    return JobResult(result.returncode, outcome, result.stderr[-5000:])
