"""The data-plane smoke pipeline: JSON into Kafka, Spark streams it to Delta on S3.

Proves that the broker, the object store and Spark with its Kafka, Delta and S3A
connectors work together. It produces to a topic of its own, so it never touches the
exercises' topics.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from kafkalab.kafka.client import producer_config
from kafkalab.lab.stack.environment import child_environment
from kafkalab.lake.delta import delta_row_count
from kafkalab.settings import REPO_ROOT, LabSettings
from tests.support.kafka import CreatedTopics

SMOKE_JOB = REPO_ROOT / "spark_jobs" / "smoke_pipeline.py"


@dataclass
class SmokeResult:
    produced: int
    spark_rows: int | None
    delta_rs_rows: int | None
    output_path: str
    passed: bool
    message: str


def produce_json_events(settings: LabSettings, topic: str, count: int) -> int:
    from confluent_kafka import Producer

    delivered = 0
    errors: list[str] = []

    def on_delivery(err, msg) -> None:
        nonlocal delivered
        if err is None:
            delivered += 1
        else:
            errors.append(str(err))

    producer = Producer(producer_config(settings))
    for seq in range(count):
        event = {"event_id": f"smoke-{seq:08d}", "seq": seq, "amount": round(seq * 1.25, 2)}
        while True:
            try:
                producer.produce(
                    topic, key=f"key-{seq % 17}", value=json.dumps(event), on_delivery=on_delivery
                )
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(30)
    if remaining or errors:
        raise RuntimeError(f"{remaining} events undelivered, errors: {errors[:3]}")
    return delivered


def run_smoke_pipeline(
    settings: LabSettings,
    topics: CreatedTopics,
    events: int = 1000,
    progress: Callable[[str], None] = lambda message: None,
) -> SmokeResult:
    run_id = f"{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    topic = f"smoke_{run_id.replace('-', '_')}"
    output_path = f"s3a://{settings.raw_bucket}/smoke/{run_id}"
    progress(f"producing {events} JSON events to topic {topic}")
    topics.create(topic)
    produced = produce_json_events(settings, topic, events)
    progress(f"spark-submit {SMOKE_JOB.name}: availableNow query -> {output_path}")
    job = subprocess.run(
        [
            str(settings.paths.venv / "bin" / "spark-submit"),
            str(SMOKE_JOB),
            topic,
            settings.kafka_bootstrap,
            output_path,
        ],
        env=child_environment(settings),
        capture_output=True,
        text=True,
    )
    spark_rows = None
    for line in job.stdout.splitlines():
        if line.startswith("{"):
            spark_rows = json.loads(line)["rows"]
    if job.returncode != 0 or spark_rows is None:
        tail_text = "\n".join(job.stderr.splitlines()[-25:])
        return SmokeResult(
            produced,
            None,
            None,
            output_path,
            False,
            f"the Spark job failed (exit {job.returncode}):\n{tail_text}",
        )
    progress("reading the Delta table back with delta-rs")
    delta_rs_rows = delta_row_count(settings, output_path)
    passed, message = smoke_verdict(produced, spark_rows, delta_rs_rows)
    message += f" ({topic} -> {output_path})"
    return SmokeResult(produced, spark_rows, delta_rs_rows, output_path, passed, message)


def smoke_verdict(produced: int, spark_rows: int, delta_rs_rows: int) -> tuple[bool, str]:
    figures = (
        f"produced {produced} events; Spark wrote and read back {spark_rows} rows; "
        f"delta-rs reads {delta_rs_rows} rows"
    )
    if produced == spark_rows == delta_rs_rows:
        return True, figures
    return False, f"row counts differ, expected {produced} everywhere: {figures}"
