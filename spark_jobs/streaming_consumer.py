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
both tables with its (app, batch id) recorded in the commit, and the one batch a
restart may rerun is looked up first (``append_once``), so a batch replayed after a
crash is not written twice.

With ``--consumer-group``, each finished batch's end offsets are committed to that
(never-subscribed) consumer group, so `kafka-consumer-groups --describe` shows the
job's lag.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading

from kafkalab.domain.schemas import STREAMS, stream_for_topic
from kafkalab.spark.driver import (
    RunBatches,
    append_once,
    commit_group_offsets,
    flag_records,
    make_offset_commit_listener,
    parse_end_offsets,
    spark_session,
    stop_between_batches,
    wait_for_end,
    write_flagged,
)
from kafkalab.spark.spec import StreamingJobSpec

log = logging.getLogger("kafkalab.streaming")


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
    job = StreamingJobSpec.from_args(argv)
    stream = STREAMS[job.stream] if job.stream else stream_for_topic(job.topic)
    output, checkpoint, quarantine = job.output, job.checkpoint_location, job.quarantine_output
    app_id = job.app_id
    trigger = trigger_options(job.trigger)

    spark = spark_session(job.name)
    if job.consumer_group:
        spark.streams.addListener(make_offset_commit_listener(job.bootstrap, job.consumer_group))

    reader = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", job.bootstrap)
        .option("subscribe", job.topic)
        .option("startingOffsets", job.starting_offsets)
        # Retention may delete records the checkpoint still points at: say so, go on.
        .option("failOnDataLoss", "false")
    )
    if job.max_offsets_per_trigger:
        reader = reader.option("maxOffsetsPerTrigger", job.max_offsets_per_trigger)
    if job.min_partitions:
        reader = reader.option("minPartitions", job.min_partitions)

    run_batches = RunBatches()

    def write_batch(flagged, batch_id: int) -> None:
        may_be_written = run_batches.may_be_written(batch_id)
        write_flagged(
            flagged,
            stream.model,
            lambda valid: append_once(valid, output, app_id, batch_id, may_be_written),
            lambda quarantined: append_once(
                quarantined, quarantine, f"{app_id}-quarantine", batch_id, may_be_written
            ),
        )

    # Parsing and the quarantine rules are part of the streaming plan, built once here:
    # built inside foreachBatch, every micro-batch paid for a few hundred Python-to-JVM
    # calls to assemble the same expressions again.
    query = (
        flag_records(reader.load(), stream.model)
        .writeStream.queryName(job.name)
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
    ended = wait_for_end(query, job.run_for, job.stop_when_idle, stop_requested.is_set)
    stop_between_batches(query)
    exception = query.exception()
    last = query.lastProgress
    progress = query.recentProgress
    if job.consumer_group and last:
        # The listener bus is asynchronous: the last batch's commit may not have run yet.
        for source in last["sources"]:
            commit_group_offsets(
                job.bootstrap, job.consumer_group, parse_end_offsets(source["endOffset"])
            )
    print(
        json.dumps(
            {
                "query": query.name,
                "ended": ended,
                "last_batch": last["batchId"] if last else None,
                # Over the batches Spark keeps (RECENT_PROGRESS_KEPT, by the session).
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
