"""Replay throughput: a Kafka backlog drained into Delta on S3, against kafka-consumer-perf-test.

    ./lab up && .lab/venv/bin/python bench/replay.py [--events 1000000] [--max-offsets 500000]

Fills a topic of its own with N generator events (straight to Kafka), then, on the
same machine and in one run: the streaming consumer drains it (availableNow, from
earliest) into a new Delta table on the object store, and Kafka's own consumer perf
test reads the same backlog. Prints one summary line with both rates and their ratio.
The Spark rate counts from the query's first batch to its last (JVM start excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from confluent_kafka.admin import AdminClient, NewTopic

from kafkalab.delta_tables import delta_row_count
from kafkalab.generator.runner import GeneratorConfig, print_progress, run_generator
from kafkalab.settings import REPO_ROOT, get_settings
from kafkalab.stack import kafka as kafka_stack
from kafkalab.stack.environment import child_environment

STREAMING_JOB = REPO_ROOT / "spark_jobs" / "streaming_consumer.py"


def consumer_perf_test_rate(settings, topic: str, messages: int) -> float:
    """Messages/s while fetching (group join excluded), from the tool's summary line."""
    command = kafka_stack.tool_command(
        settings,
        "kafka-consumer-perf-test",
        [
            "--bootstrap-server",
            settings.kafka_bootstrap,
            "--topic",
            topic,
            "--num-records",
            str(messages),
            "--timeout",
            "60000",
        ],
    )
    result = subprocess.run(
        command, capture_output=True, text=True, env=child_environment(settings)
    )
    lines = result.stdout.strip().splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("start.time")]
    if result.returncode != 0 or not headers or headers[-1] + 1 >= len(lines):
        raise RuntimeError(f"kafka-consumer-perf-test failed:\n{result.stdout}\n{result.stderr}")
    header = [name.strip() for name in lines[headers[-1]].split(",")]
    values = [value.strip() for value in lines[headers[-1] + 1].split(",")]
    return float(values[header.index("fetch.nMsg.sec")])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument(
        "--max-offsets", type=int, default=500_000, help="maxOffsetsPerTrigger of the Spark job"
    )
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args()

    settings = get_settings()
    tag = uuid.uuid4().hex[:8]
    topic = f"bench_replay_{tag}"
    output = f"s3a://{settings.raw_bucket}/bench/replay_{tag}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=args.partitions, replication_factor=1)])[
        topic
    ].result()
    try:
        print(f"filling {topic} with {args.events} events...", file=sys.stderr)
        backlog = run_generator(
            GeneratorConfig(
                target="kafka",
                bootstrap=settings.kafka_bootstrap,
                count=args.events,
                financial_share=1.0,
                topics={"financial": topic},
                progress_every=10,
            ),
            progress=print_progress,
        )
        if backlog.acknowledged != args.events:
            raise RuntimeError(f"backlog incomplete: {backlog.line()}")

        print("Spark streaming consumer (availableNow) -> Delta...", file=sys.stderr)
        job = subprocess.run(
            [
                str(settings.paths.venv / "bin" / "spark-submit"),
                str(STREAMING_JOB),
                topic,
                settings.kafka_bootstrap,
                output,
                "--stream",
                "financial",
                "--trigger",
                "availableNow",
                "--max-offsets-per-trigger",
                str(args.max_offsets),
            ],
            env=child_environment(settings),
            capture_output=True,
            text=True,
        )
        outcomes = [json.loads(line) for line in job.stdout.splitlines() if line.startswith("{")]
        if job.returncode != 0 or not outcomes:
            raise RuntimeError(f"the streaming job failed:\n{job.stderr[-3000:]}")
        outcome = outcomes[-1]
        rows = delta_row_count(settings, output)
        if rows != args.events:
            raise RuntimeError(f"the Delta table has {rows} rows, expected {args.events}")
        spark_seconds = outcome["processing_seconds"]
        spark_rate = outcome["rows_read"] / spark_seconds

        print("kafka-consumer-perf-test...", file=sys.stderr)
        perf_rate = consumer_perf_test_rate(settings, topic, args.events)
    finally:
        admin.delete_topics([topic])

    print(
        f"replay: spark->delta {spark_rate:,.0f} ev/s ({rows} rows in {spark_seconds:.1f}s, "
        f"maxOffsetsPerTrigger {args.max_offsets}), kafka-consumer-perf-test "
        f"{perf_rate:,.0f} msg/s, ratio {spark_rate / perf_rate:.3f}; "
        f"{args.partitions} partitions, {os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
