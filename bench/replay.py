"""Replay throughput and micro-batch latency of the streaming consumer, against Kafka's own tool.

    ./lab up && .lab/venv/bin/python bench/replay.py [--events 1000000] [--max-offsets 200000]
    .lab/venv/bin/python bench/replay.py --latency [--batches 150] [--batch-rows 2000]
    .lab/venv/bin/python bench/replay.py --sweep 100000,1000000,3000000
    .lab/venv/bin/python bench/replay.py --stages [--events 300000]

Fills a topic of its own with N generator events (straight to Kafka), then, on the
same machine and in one run: the streaming consumer drains it (availableNow, from
earliest, offsets committed to a group) into a new Delta table on the object store,
and Kafka's own consumer perf test reads the same backlog.

The job's time splits into JVM/session start (launch to first trigger), the first
batch (class loading, code generation, table creation) and steady state (every later
batch); the ratio against ``kafka-consumer-perf-test`` uses the steady-state rate, the
total is printed beside it. ``--latency`` drains the backlog in batches of about
``--batch-rows`` rows and reports, per batch, trigger to committed Delta version and
checkpoint (Spark's ``triggerExecution``) with its phases. Prints one human line and
one JSON line per run; ``--sweep`` also leaves the runs' JSON and a plot of replay time
and rates against the backlog size in ``.lab/artifacts/bench/``.

``--stages`` says where a replay's time goes: in one warm JVM, the same rows read
through ever longer prefixes of the job's pipeline (Kafka fetch, bytes to text, JSON
parse, the unknown-fields pass's own parse, the quarantine rules, the batch's cache,
the Delta append; ``bench/replay_stages.py``), with the wall time per row each step
adds on this machine's cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from confluent_kafka.admin import AdminClient, NewTopic

from kafkalab.domain.latency import percentile
from kafkalab.domain.throughput import throughput
from kafkalab.generator.runner import fill_topic, print_progress
from kafkalab.lab.bench import machine, save_sweep
from kafkalab.lab.stack import kafka as kafka_stack
from kafkalab.lab.stack.environment import child_environment
from kafkalab.lake.delta import delta_row_count
from kafkalab.settings import get_settings
from kafkalab.spark.jobs import SparkSubmit, batch_timings, job_summary
from kafkalab.spark.spec import StreamingJobSpec

STAGES_JOB = Path(__file__).with_name("replay_stages.py")
PHASES = ("latestOffset", "queryPlanning", "getBatch", "walCommit", "addBatch", "commitOffsets")


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


@contextmanager
def backlog(settings, prefix: str, events: int, partitions: int) -> Iterator[str]:
    """A topic of its own filled with ``events`` generator events, deleted afterwards."""
    topic = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])[
        topic
    ].result()
    try:
        print(f"filling {topic} with {events} events...", file=sys.stderr)
        fill_topic(settings.kafka_bootstrap, topic, events, progress=print_progress)
        yield topic
    finally:
        admin.delete_topics([topic])


def spark_json_line(settings, command: list[str], pick: Callable[[list[str]], dict | None]) -> dict:
    """Run a Spark application to its end; the JSON line ``pick`` finds in its output."""
    job = subprocess.run(command, env=child_environment(settings), capture_output=True, text=True)
    found = pick(job.stdout.splitlines())
    if job.returncode != 0 or found is None:
        raise RuntimeError(f"the Spark application failed:\n{job.stderr[-3000:]}")
    return found


def drain(
    settings, topic: str, output: str, max_offsets: int, min_partitions: int | None
) -> tuple[dict, float]:
    """Run the streaming job over the whole backlog; its summary and when it was launched."""
    print("Spark streaming consumer (availableNow) -> Delta...", file=sys.stderr)
    job_spec = StreamingJobSpec(
        topic=topic,
        bootstrap=settings.kafka_bootstrap,
        output_path=output,
        stream="financial",
        trigger="availableNow",
        max_offsets_per_trigger=max_offsets,
        min_partitions=min_partitions,
        consumer_group=f"bench-{topic}",
    )
    launched = time.time()
    command = SparkSubmit.from_settings(settings).streaming_command(job_spec)
    return spark_json_line(settings, command, job_summary), launched


def split_phases(outcome: dict, launched: float) -> dict[str, Any]:
    """JVM start, first batch, steady state, from the job's per-batch progress."""
    batches = [b for b in outcome["batches"] if b["rows"] > 0]
    if not batches:
        raise RuntimeError("the streaming job read no rows")
    first_start = dt.datetime.fromisoformat(batches[0]["started"].replace("Z", "+00:00"))
    # One split for the benchmark and the DR drill's report (StopStreamingJobOperator).
    return {
        "jvm_start_s": round(first_start.timestamp() - launched, 2),
        **throughput(batch_timings(outcome)),
    }


def latency_figures(outcome: dict) -> dict[str, Any]:
    """Per-batch trigger-to-commit time after the first batch, with Spark's phase medians."""
    batches = [b for b in outcome["batches"] if b["rows"] > 0][1:]
    if not batches:
        raise RuntimeError("no batch after the first: raise --batches")
    seconds = [b["duration_ms"]["triggerExecution"] / 1000 for b in batches]
    return {
        "batches": len(batches),
        "rows_per_batch_median": statistics.median(b["rows"] for b in batches),
        "batch_s_median": round(statistics.median(seconds), 2),
        "batch_s_p99": round(percentile(seconds, 0.99), 2),
        "batch_s_max": round(max(seconds), 2),
        "phase_ms_median": {
            phase: statistics.median(b["duration_ms"].get(phase, 0) for b in batches)
            for phase in PHASES
        },
    }


def run_once(settings, args, events: int, latency: bool) -> dict[str, Any]:
    max_offsets = args.batch_rows if latency else args.max_offsets
    with backlog(settings, "bench_replay", events, args.partitions) as topic:
        output = f"s3a://{settings.raw_bucket}/bench/{topic}"
        outcome, launched = drain(settings, topic, output, max_offsets, args.min_partitions)
        rows = delta_row_count(settings, output)
        if rows != events:
            raise RuntimeError(f"the Delta table has {rows} rows, expected {events}")
        result: dict[str, Any] = {
            "bench": "replay-latency" if latency else "replay",
            "events": events,
            "partitions": args.partitions,
            "max_offsets_per_trigger": max_offsets,
            "min_partitions": args.min_partitions,
            "machine": machine(),
            "spark": split_phases(outcome, launched),
        }
        if latency:
            result["latency"] = latency_figures(outcome)
        else:
            print("kafka-consumer-perf-test...", file=sys.stderr)
            perf_rate = consumer_perf_test_rate(settings, topic, events)
            result["kafka_consumer_perf_test_msgs_per_s"] = round(perf_rate, 1)
            # A backlog of one batch (--sweep's smallest) has no steady state.
            result["ratio_steady"] = ratio(result["spark"]["steady_rows_per_s"], perf_rate)
            result["ratio_total"] = ratio(result["spark"]["total_rows_per_s"], perf_rate)
        return result


def stages_line(lines: list[str]) -> dict | None:
    """replay_stages.py's closing JSON line."""
    found = [line for line in lines if line.startswith('{"rows"')]
    return json.loads(found[-1]) if found else None


def run_stages(settings, args, events: int) -> dict[str, Any]:
    with backlog(settings, "bench_stages", events, args.partitions) as topic:
        print("Spark: the job's pipeline stage by stage...", file=sys.stderr)
        command = SparkSubmit.from_settings(settings).command(
            STAGES_JOB,
            [
                topic,
                settings.kafka_bootstrap,
                f"s3a://{settings.raw_bucket}/bench/{topic}",
                str(events),
                str(args.rounds),
            ],
        )
        stages = spark_json_line(settings, command, stages_line)
        print("kafka-consumer-perf-test...", file=sys.stderr)
        perf_rate = consumer_perf_test_rate(settings, topic, stages["rows"])
    rates = stages["rows_per_s"]
    return {
        "bench": "replay-stages",
        "events": stages["rows"],
        "partitions": args.partitions,
        "rounds": args.rounds,
        "machine": machine(),
        "rows_per_s": rates,
        # Wall time per row, all cores together: what the step costs on this machine.
        "added_us_per_row": {
            stage: round(1e6 / rates[stage] - (1e6 / rates[before] if before else 0), 2)
            for stage, before in stages["after"].items()
        },
        "kafka_consumer_perf_test_msgs_per_s": round(perf_rate, 1),
    }


def ratio(rate: float | None, perf_rate: float) -> float | None:
    return round(rate / perf_rate, 4) if rate is not None else None


def figure(value: float | None, form: str = ",.0f") -> str:
    return format(value, form) if value is not None else "n/a"


def human_line(result: dict[str, Any]) -> str:
    where = result["machine"]
    machine_text = f"{where['cores']} cores, {where['memory_gib']} GiB"
    if result["bench"] == "replay-stages":
        steps = ", ".join(
            f"{stage} {rate:,} rows/s (+{result['added_us_per_row'][stage]} us)"
            for stage, rate in result["rows_per_s"].items()
        )
        return (
            f"replay --stages over {result['events']} rows: {steps};"
            f" kafka-consumer-perf-test {result['kafka_consumer_perf_test_msgs_per_s']:,.0f}"
            f" msg/s; {machine_text}"
        )
    spark = result["spark"]
    if "latency" in result:
        lat = result["latency"]
        return (
            f"replay --latency: {lat['batches']} batches of ~{lat['rows_per_batch_median']:.0f}"
            f" rows, trigger->commit median {lat['batch_s_median']}s, p99 {lat['batch_s_p99']}s,"
            f" max {lat['batch_s_max']}s; phase medians (ms) {lat['phase_ms_median']};"
            f" JVM start {spark['jvm_start_s']}s, first batch {spark['first_batch_s']}s;"
            f" {machine_text}"
        )
    return (
        f"replay: spark->delta steady {figure(spark['steady_rows_per_s'])} ev/s"
        f" ({spark['steady_rows']} rows in {spark['steady_s']}s), total"
        f" {spark['total_rows_per_s']:,.0f} ev/s; JVM start {spark['jvm_start_s']}s, first batch"
        f" {spark['first_batch_s']}s ({spark['first_batch_rows']} rows);"
        f" kafka-consumer-perf-test {result['kafka_consumer_perf_test_msgs_per_s']:,.0f} msg/s;"
        f" ratio {figure(result['ratio_steady'], '.3f')} steady"
        f" ({figure(result['ratio_total'], '.3f')} total);"
        f" maxOffsetsPerTrigger {result['max_offsets_per_trigger']}, {result['partitions']}"
        f" partitions, {machine_text}"
    )


def save_sweep_files(directory: Path, runs: list[dict[str, Any]]) -> dict[str, str]:
    backlogs = [run["events"] for run in runs]
    spark = [run["spark"] for run in runs]
    return save_sweep(
        directory,
        "replay-sweep",
        {"bench": "replay-sweep", "machine": machine(), "runs": runs},
        "backlog (events)",
        backlogs,
        [
            (
                "replay time (s)",
                {
                    "JVM start + all batches": [s["jvm_start_s"] + s["total_s"] for s in spark],
                    "all batches": [s["total_s"] for s in spark],
                    "first batch": [s["first_batch_s"] for s in spark],
                },
            ),
            (
                "rows/s",
                {
                    "steady state": [s["steady_rows_per_s"] for s in spark],
                    "all batches": [s["total_rows_per_s"] for s in spark],
                    "kafka-consumer-perf-test": [
                        run["kafka_consumer_perf_test_msgs_per_s"] for run in runs
                    ],
                },
            ),
        ],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--events", type=int, help="backlog size (default 1,000,000; 300,000 with --stages)"
    )
    parser.add_argument(
        "--max-offsets", type=int, default=200_000, help="maxOffsetsPerTrigger of the Spark job"
    )
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument(
        "--min-partitions", type=int, help="minPartitions of the Spark job (default: the job's)"
    )
    parser.add_argument("--latency", action="store_true", help="measure per-batch latency")
    parser.add_argument(
        "--stages", action="store_true", help="cost of each step of the job's pipeline"
    )
    parser.add_argument("--rounds", type=int, default=3, help="with --stages")
    # p99 over fewer than 100 batches is their maximum: the first Delta checkpoint
    # (commit 10, a one-off cost of a fresh JVM) would stand for the job's tail.
    parser.add_argument("--batches", type=int, default=150, help="with --latency")
    parser.add_argument("--batch-rows", type=int, default=2000, help="with --latency")
    parser.add_argument(
        "--sweep", help="comma-separated backlog sizes, e.g. 100000,1000000,3000000"
    )
    parser.add_argument(
        "--output-dir", type=Path, help="for --sweep (default: .lab/artifacts/bench)"
    )
    args = parser.parse_args()
    settings = get_settings()
    # Every stage reads the backlog once a round: a smaller one by default.
    events = args.events or (300_000 if args.stages else 1_000_000)

    if args.stages:
        runs = [run_stages(settings, args, events)]
    elif args.latency:
        runs = [run_once(settings, args, args.batches * args.batch_rows + 1, latency=True)]
    elif args.sweep:
        runs = [
            run_once(settings, args, int(size), latency=False) for size in args.sweep.split(",")
        ]
    else:
        runs = [run_once(settings, args, events, latency=False)]
    for result in runs:
        print(human_line(result))
        print(json.dumps(result))
    if args.sweep:
        directory = args.output_dir or settings.paths.artifacts / "bench"
        print(json.dumps({"bench": "replay-sweep", "files": save_sweep_files(directory, runs)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
