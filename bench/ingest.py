"""Ingest throughput: generator -> ingestor -> Kafka, against kafka-producer-perf-test.

    ./lab up && .lab/venv/bin/python bench/ingest.py [--batch-events N] [--single-events N]

Runs, on the running local broker and in one go: a private ingestor (its own port and
topics, so the exercise topics stay clean), the generator in batch mode and in
single-event mode, and Kafka's own producer perf test with the same record size and
producer settings (acks=all, idempotence, lz4, linger 5 ms). Prints one summary line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid

import httpx
from confluent_kafka.admin import AdminClient, NewTopic

from kafkalab.generator.events import EventFactory
from kafkalab.generator.runner import GeneratorConfig, run_generator
from kafkalab.lab.stack import kafka as kafka_stack
from kafkalab.lab.stack.environment import child_environment
from kafkalab.settings import REPO_ROOT, get_settings

PRODUCER_PROPS = {
    "acks": "all",
    "enable.idempotence": "true",
    "linger.ms": "5",
    "compression.type": "lz4",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mean_record_bytes(samples: int = 2000) -> int:
    factory = EventFactory(seed=1, run_id="bench0000", start_time=dt.datetime.now(dt.UTC))
    now = dt.datetime.now(dt.UTC)
    sizes = [len(factory.next().to_json(now)) for _ in range(samples)]
    return round(sum(sizes) / len(sizes))


def perf_test_rate(settings, topic: str, records: int, record_size: int) -> float:
    props = [f"bootstrap.servers={settings.kafka_bootstrap}"]
    props += [f"{k}={v}" for k, v in PRODUCER_PROPS.items()]
    command = kafka_stack.tool_command(
        settings,
        "kafka-producer-perf-test",
        [
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(record_size),
            "--throughput",
            "-1",
            "--producer-props",
            *props,
        ],
    )
    result = subprocess.run(
        command, capture_output=True, text=True, env=child_environment(settings)
    )
    summary = [line for line in result.stdout.splitlines() if "records sent" in line]
    if result.returncode != 0 or not summary:
        raise RuntimeError(f"kafka-producer-perf-test failed:\n{result.stdout}\n{result.stderr}")
    return float(re.search(r"([\d.]+) records/sec", summary[-1]).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-events", type=int, default=200_000)
    parser.add_argument("--single-events", type=int, default=30_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--perf-records", type=int, default=1_000_000)
    parser.add_argument("--single-concurrency", type=int, default=64)
    args = parser.parse_args()

    settings = get_settings()
    tag = uuid.uuid4().hex[:8]
    topics = {"financial": f"bench_financial_{tag}", "insurance": f"bench_insurance_{tag}"}
    perf_topic = f"bench_perf_{tag}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    for future in admin.create_topics(
        [
            NewTopic(t, num_partitions=3, replication_factor=1)
            for t in [*topics.values(), perf_topic]
        ]
    ).values():
        future.result()

    port = free_port()
    env = {**child_environment(settings), "KAFKALAB_TOPIC_OVERRIDES": json.dumps(topics)}
    ingestor = subprocess.Popen(
        [
            str(settings.paths.venv / "bin" / "uvicorn"),
            "kafkalab.ingestor.app:app",
            "--app-dir",
            str(REPO_ROOT),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the benchmark's ingestor did not come up")
            time.sleep(0.3)

        record_size = mean_record_bytes()
        print(
            f"mean event size {record_size} B; batch mode ({args.batch_events} events)...",
            file=sys.stderr,
        )
        batch = run_generator(
            GeneratorConfig(
                ingestor_url=url,
                count=args.batch_events,
                batch_size=args.batch_size,
                concurrency=4,
                progress_every=10,
            )
        )
        print(f"single-event mode ({args.single_events} events)...", file=sys.stderr)
        single = run_generator(
            GeneratorConfig(
                ingestor_url=url,
                count=args.single_events,
                batch_size=1,
                concurrency=args.single_concurrency,
                progress_every=10,
            )
        )
        print(f"kafka-producer-perf-test ({args.perf_records} records)...", file=sys.stderr)
        perf = perf_test_rate(settings, perf_topic, args.perf_records, record_size)
    finally:
        ingestor.terminate()
        ingestor.wait(30)
        admin.delete_topics([*topics.values(), perf_topic])

    for run in (batch, single):
        if run.acknowledged != run.sent:
            print(f"warning: {run.line()}", file=sys.stderr)
    batch_rate, single_rate = batch.events_per_second, single.events_per_second
    print(
        f"ingest: batch {batch_rate:,.0f} ev/s ({batch_rate / perf:.2f}x), "
        f"single-event {single_rate:,.0f} ev/s ({single_rate / perf:.3f}x), "
        f"kafka-producer-perf-test {perf:,.0f} rec/s; record {record_size} B, acks=all, "
        f"{os.cpu_count()} cores"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
