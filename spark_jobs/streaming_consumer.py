"""Stream a lab topic from Kafka into a Delta table on S3, exactly once.

    spark-submit spark_jobs/streaming_consumer.py <topic> <bootstrap> <output_path> \\
        [--startingOffsets earliest|latest|<json>] [--trigger availableNow|processingTime=10s] \\
        [--consumer-group spark-financial] [--stop-when-idle 30] [--run-for 600]

Each event is parsed with the lab's shared schema. Valid events land in
``<output_path>`` with the Kafka ``kafka_topic``, ``kafka_partition``,
``kafka_offset`` and ``kafka_timestamp`` of their record and an ``ingested_at``;
records that are not valid events land, raw and with the reason, in the quarantine
table (``<output_path>_quarantine`` by default). Bad data never stops the stream.

Exactly once: Spark restarts from its checkpoint; every micro-batch is appended to
both tables with Delta's idempotent-write options (``txnAppId``/``txnVersion`` =
batch id), so a batch replayed after a crash is not written twice.

With ``--consumer-group``, each finished batch's end offsets are committed to that
(never-subscribed) consumer group, so `kafka-consumer-groups --describe` shows the
job's lag.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import signal
import sys
import threading

from kafkalab.domain.schemas import STREAMS, stream_for_topic
from kafkalab.spark.driver import (
    commit_group_offsets,
    flag_records,
    idempotent_delta_append,
    make_offset_commit_listener,
    parse_end_offsets,
    quarantined_records,
    spark_session,
    stop_between_batches,
    valid_events,
    wait_for_end,
)

log = logging.getLogger("kafkalab.streaming")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("topic")
    parser.add_argument("bootstrap")
    parser.add_argument("output_path", help="Delta table, e.g. s3a://raw-data-bucket/financial")
    parser.add_argument(
        "--startingOffsets",
        "--starting-offsets",
        dest="starting_offsets",
        default="earliest",
        help="earliest, latest or Kafka JSON offsets (only for a new checkpoint)",
    )
    parser.add_argument("--checkpoint", help="default: <output_path>/_checkpoints/stream")
    parser.add_argument("--quarantine-path", help="default: <output_path>_quarantine")
    parser.add_argument(
        "--trigger",
        default="processingTime=5 seconds",
        help="availableNow, or processingTime=<interval>",
    )
    parser.add_argument("--run-for", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--stop-when-idle", type=float, help="stop after this many seconds without new records"
    )
    parser.add_argument("--consumer-group", help="commit finished offsets to this group")
    parser.add_argument("--max-offsets-per-trigger", type=int)
    parser.add_argument(
        "--min-partitions",
        type=int,
        help="Spark tasks per batch (default: one per Kafka partition)",
    )
    parser.add_argument(
        "--stream", choices=sorted(STREAMS), help="event schema (default: from the topic name)"
    )
    parser.add_argument("--query-name", help="default: kafkalab_<topic>")
    return parser


def trigger_options(trigger: str) -> dict[str, object]:
    if trigger == "availableNow":
        return {"availableNow": True}
    if trigger.startswith("processingTime="):
        return {"processingTime": trigger.split("=", 1)[1]}
    raise ValueError(
        f"--trigger must be availableNow or processingTime=<interval>, not {trigger!r}"
    )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    args = build_parser().parse_args(argv)
    stream = STREAMS[args.stream] if args.stream else stream_for_topic(args.topic)
    output = args.output_path.rstrip("/")
    checkpoint = args.checkpoint or f"{output}/_checkpoints/stream"
    quarantine = (args.quarantine_path or f"{output}_quarantine").rstrip("/")
    # Stable across restarts of the same stream (same checkpoint): Delta's idempotence key.
    app_id = "kafkalab-" + hashlib.sha256(checkpoint.encode()).hexdigest()[:16]
    trigger = trigger_options(args.trigger)

    spark = spark_session(args.query_name or f"kafkalab_{args.topic}")
    if args.consumer_group:
        spark.streams.addListener(make_offset_commit_listener(args.bootstrap, args.consumer_group))

    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap)
        .option("subscribe", args.topic)
        .option("startingOffsets", args.starting_offsets)
        # Retention may delete records the checkpoint still points at: say so, go on.
        .option("failOnDataLoss", "false")
    )
    if args.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", args.max_offsets_per_trigger)
    if args.min_partitions:
        reader = reader.option("minPartitions", args.min_partitions)

    def write_batch(flagged, batch_id: int) -> None:
        # Both tables read the parsed batch: cache it so Kafka is fetched and the JSON
        # parsed once per batch.
        flagged = flagged.persist()
        try:
            idempotent_delta_append(valid_events(flagged, stream.model), output, app_id, batch_id)
            quarantined = quarantined_records(flagged)
            if not quarantined.isEmpty():
                idempotent_delta_append(quarantined, quarantine, f"{app_id}-quarantine", batch_id)
        finally:
            flagged.unpersist()

    # Parsing and the quarantine rules are part of the streaming plan, built once here:
    # built inside foreachBatch, every micro-batch paid for a few hundred Python-to-JVM
    # calls to assemble the same expressions again.
    query = (
        flag_records(reader.load(), stream.model)
        .writeStream.queryName(args.query_name or f"kafkalab_{args.topic}")
        .option("checkpointLocation", checkpoint)
        .trigger(**trigger)
        .foreachBatch(write_batch)
        .start()
    )

    log.info("kafkalab streaming query started: %s, checkpoint %s", query.name, checkpoint)

    # SIGTERM (a DAG task stopping the job, `./lab down`) ends the query between
    # batches instead of killing it mid-write.
    stop_requested = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop_requested.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stop_requested.set())
    ended = wait_for_end(query, args.run_for, args.stop_when_idle, stop_requested.is_set)
    stop_between_batches(query)
    exception = query.exception()
    last = query.lastProgress
    progress = query.recentProgress
    if args.consumer_group and last:
        # The listener bus is asynchronous: the last batch's commit may not have run yet.
        for source in last["sources"]:
            commit_group_offsets(
                args.bootstrap, args.consumer_group, parse_end_offsets(source["endOffset"])
            )
    print(
        json.dumps(
            {
                "query": query.name,
                "ended": ended,
                "last_batch": last["batchId"] if last else None,
                # Over the recent batches Spark keeps (100 by default): enough for the
                # benchmark's few large availableNow batches.
                "rows_read": sum(p["numInputRows"] for p in progress),
                "processing_seconds": sum(
                    p["durationMs"].get("triggerExecution", 0) for p in progress
                )
                / 1000,
                # Per batch, for the benchmarks: rows, Spark's phase durations and when
                # the trigger started (so start-up, first batch and steady state separate).
                "batches": [
                    {
                        "batch": p["batchId"],
                        "rows": p["numInputRows"],
                        "started": p["timestamp"],
                        "duration_ms": p["durationMs"],
                    }
                    for p in progress
                ],
                "output_path": output,
                "quarantine_path": quarantine,
                "error": str(exception) if exception else None,
            }
        ),
        flush=True,
    )
    spark.stop()
    return 1 if exception else 0


if __name__ == "__main__":
    sys.exit(main())
