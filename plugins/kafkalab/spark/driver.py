"""The streaming consumer's building blocks: parse, quarantine, write once, report offsets.

Imported by ``spark_jobs/streaming_consumer.py`` on the Spark driver. pyspark is
imported inside the functions that need it, so the pure helpers stay importable (and
unit-testable) anywhere.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from kafkalab.domain.schemas import LabEvent, spark_ddl, sql_violations

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("kafkalab.streaming")

KAFKA_COLUMNS = ["kafka_topic", "kafka_partition", "kafka_offset", "kafka_timestamp"]
CORRUPT_COLUMN = "_corrupt_record"


def parse_end_offsets(end_offset: str | dict | None) -> dict[str, dict[int, int]]:
    """Spark's Kafka source offsets, ``{"topic": {"0": 42}}``, as topic -> partition -> offset."""
    if not end_offset:
        return {}
    document = json.loads(end_offset) if isinstance(end_offset, str) else end_offset
    return {
        topic: {int(partition): int(offset) for partition, offset in partitions.items()}
        for topic, partitions in document.items()
    }


def commit_group_offsets(
    bootstrap: str, group: str, offsets: dict[str, dict[int, int]], timeout: float = 30.0
) -> None:
    """Store offsets for a group through the admin API, as a consumer's commit would.

    Spark's Kafka source commits nothing to Kafka; this makes the job's progress
    visible to `kafka-consumer-groups --describe`, kafka-exporter and the lab's lag
    sensor. The group never subscribes, so it has no members and accepts the write.
    """
    from confluent_kafka.admin import AdminClient

    from kafkalab.kafka import admin as kafka_admin
    from kafkalab.kafka.client import admin_config

    if not any(offsets.values()):
        return
    # Destroyed on this thread, not by the garbage collector (see KafkaAdmin.close).
    with AdminClient(admin_config(bootstrap)) as admin:
        for topic, by_partition in offsets.items():
            kafka_admin.commit_group_offsets(admin, group, topic, by_partition, timeout)


def make_offset_commit_listener(
    bootstrap: str,
    group: str,
    on_progress: Callable | None = None,
    commit_offsets: Callable[[str, str, dict[str, dict[int, int]]], None] | None = None,
):
    """A StreamingQueryListener committing each finished batch's end offsets to ``group``.

    A commit the broker refused (NOT_COORDINATOR while the group's coordinator moves to
    another broker, on a cluster losing or regaining one) is tried again when the query
    is next idle, unless a later batch's commit supersedes it: otherwise the last
    batch before the stream goes quiet could leave its lag showing for good.
    """
    from pyspark.sql.streaming import StreamingQueryListener

    commit_offsets = commit_offsets or commit_group_offsets

    class OffsetCommitListener(StreamingQueryListener):
        def __init__(self) -> None:
            self.uncommitted: dict[str, dict[int, int]] = {}

        def commit(self, offsets: dict[str, dict[int, int]]) -> None:
            try:
                commit_offsets(bootstrap, group, offsets)
            except Exception as exc:  # monitoring must never stop the stream
                self.uncommitted.update(offsets)
                log.warning("could not commit offsets for group %s: %s", group, exc)
            else:
                for topic in offsets:
                    self.uncommitted.pop(topic, None)

        def onQueryStarted(self, event) -> None:
            log.info("query %s started", event.id)

        def onQueryProgress(self, event) -> None:
            progress = event.progress
            for source in progress.sources:
                offsets = parse_end_offsets(source.endOffset)
                self.commit(offsets)
                behind = (source.metrics or {}).get("maxOffsetsBehindLatest")
                log.info(
                    "batch %s: %s rows, %.0f rows/s, end offsets %s, max offsets behind latest %s,"
                    " phases (ms) %s",
                    progress.batchId,
                    progress.numInputRows,
                    progress.processedRowsPerSecond or 0.0,
                    offsets,
                    behind,
                    dict(progress.durationMs),
                )
            if on_progress is not None:
                on_progress(progress)

        def onQueryIdle(self, event) -> None:
            if self.uncommitted:
                self.commit(dict(self.uncommitted))

        def onQueryTerminated(self, event) -> None:
            log.info(
                "query %s terminated%s",
                event.id,
                f" with {event.exception}" if event.exception else "",
            )

    return OffsetCommitListener()


def flag_records(records: DataFrame, model: type[LabEvent]) -> DataFrame:
    """Kafka rows, parsed with the schema, with a ``quarantine_reason`` (NULL when valid)."""
    from pyspark.sql import functions as F

    ddl = f"{spark_ddl(model)}, `{CORRUPT_COLUMN}` STRING"
    known_fields = list(model.model_fields)
    text = F.col("value").cast("string")
    parsed = records.select(
        F.col("topic").alias("kafka_topic"),
        F.col("partition").alias("kafka_partition"),
        F.col("offset").alias("kafka_offset"),
        F.col("timestamp").alias("kafka_timestamp"),
        F.col("key").cast("string").alias("kafka_key"),
        F.col("value").alias("raw_value"),
        F.from_json(
            text, ddl, {"mode": "PERMISSIVE", "columnNameOfCorruptRecord": CORRUPT_COLUMN}
        ).alias("event"),
        # Fields the schema does not know: the ingestor refuses them, so must we.
        F.when(
            text.isNotNull() & F.json_object_keys(text).isNotNull(),
            F.array_except(F.json_object_keys(text), F.array(*[F.lit(f) for f in known_fields])),
        ).alias("unknown_fields"),
    )
    checks = [
        (F.col("raw_value").isNull(), F.lit("empty value (tombstone)")),
        (
            F.col("event").isNull() | F.col(f"event.{CORRUPT_COLUMN}").isNotNull(),
            F.lit("not a JSON object of the schema"),
        ),
        (
            F.size("unknown_fields") > 0,
            F.concat(F.lit("unknown fields: "), F.array_join("unknown_fields", ", ")),
        ),
    ]
    for reason, condition in sql_violations(model):
        checks.append((_on_event(condition, known_fields), F.lit(reason)))
    reason = F.coalesce(*[F.when(condition, message) for condition, message in checks])
    return parsed.withColumn("quarantine_reason", reason)


def valid_events(flagged: DataFrame, model: type[LabEvent]) -> DataFrame:
    from pyspark.sql import functions as F

    return flagged.where(F.col("quarantine_reason").isNull()).select(
        *[F.col(f"event.`{name}`").alias(name) for name in model.model_fields],
        *KAFKA_COLUMNS,
        F.current_timestamp().alias("ingested_at"),
    )


def quarantined_records(flagged: DataFrame) -> DataFrame:
    from pyspark.sql import functions as F

    return flagged.where(F.col("quarantine_reason").isNotNull()).select(
        *KAFKA_COLUMNS,
        "kafka_key",
        "raw_value",
        F.col("raw_value").cast("string").alias("raw_text"),
        "quarantine_reason",
        F.current_timestamp().alias("quarantined_at"),
    )


def write_flagged(
    flagged: DataFrame,
    model: type[LabEvent],
    write_valid: Callable[[DataFrame], None],
    write_quarantined: Callable[[DataFrame], None],
) -> None:
    """One batch of flagged records into its two tables: the valid events, then the
    quarantine, which is written only when the batch has something to quarantine."""
    # Both tables read the parsed batch: cached, Kafka is fetched and the JSON parsed
    # once per batch.
    flagged = flagged.persist()
    try:
        write_valid(valid_events(flagged, model))
        quarantined = quarantined_records(flagged)
        if not quarantined.isEmpty():
            write_quarantined(quarantined)
    finally:
        flagged.unpersist()


def _on_event(condition: str, fields: list[str]):
    """Point a rule written against top-level columns at the parsed ``event`` struct."""
    from pyspark.sql import functions as F

    for name in fields:
        condition = condition.replace(f"`{name}`", f"`event`.`{name}`")
    return F.expr(condition)


# Each append records its (app, batch) in the commit's userMetadata, where a rerun
# batch finds it in one read of the newest commits (see append_once).
BATCH_METADATA_APP = "kafkalab_app"
BATCH_METADATA_BATCH = "kafkalab_batch"
# Commits of other writers (OPTIMIZE, VACUUM) between the app's own are rare: looked
# through newest first, a first page this long almost always holds the app's last one.
HISTORY_PAGE = 50


def batch_metadata(app_id: str, batch_id: int) -> str:
    return json.dumps({BATCH_METADATA_APP: app_id, BATCH_METADATA_BATCH: batch_id})


def last_batch_in(user_metadata_newest_first: Iterable[str | None], app_id: str) -> int | None:
    """The batch of ``app_id``'s newest append among commits' userMetadata, newest first."""
    for text in user_metadata_newest_first:
        try:
            recorded = json.loads(text) if text else None
        except ValueError:
            continue
        if isinstance(recorded, dict) and recorded.get(BATCH_METADATA_APP) == app_id:
            return int(recorded[BATCH_METADATA_BATCH])
    return None


def last_appended_batch(spark: SparkSession, path: str, app_id: str) -> int | None:
    """The newest batch ``app_id`` appended to the table at ``path``; None if none is recorded."""
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    if not DeltaTable.isDeltaTable(spark, path):
        return None
    history = DeltaTable.forPath(spark, path).history
    rows = history(HISTORY_PAGE).orderBy(F.desc("version")).select("userMetadata").collect()
    found = last_batch_in((row.userMetadata for row in rows), app_id)
    if found is None and len(rows) == HISTORY_PAGE:
        rows = history().orderBy(F.desc("version")).select("userMetadata").collect()
        found = last_batch_in((row.userMetadata for row in rows), app_id)
    return found


class RunBatches:
    """Which batch of this run a restart may have written already: its first one only."""

    def __init__(self) -> None:
        self.first: int | None = None

    def may_be_written(self, batch_id: int) -> bool:
        if self.first is None:
            self.first = batch_id
        return batch_id == self.first


def append_once(
    frame: DataFrame, path: str, app_id: str, batch_id: int, may_be_written: bool
) -> None:
    """Append a micro-batch to the Delta table at ``path`` unless it is there already.

    Delta's own idempotent write (``txnAppId``/``txnVersion``) finds the app's last
    version in the table's reconstructed state, and Delta 4.4 rebuilds that state (a
    Spark job over the log) after every commit: 1.2 s of each 2,000-row micro-batch on
    two cores, more than writing the rows. Yet only the first batch of a run can have
    been written before: after a restart Spark reruns at most its last planned batch
    (offset log written, commit log not), and within a run it calls foreachBatch once
    per batch id, in order. So the caller says ``may_be_written`` for that batch alone,
    which is then looked up in the userMetadata every append records; the batches after
    it are appended straight away. A table with no such record (new, or written before
    the batches were recorded) falls back to Delta's own check.
    """
    writer = (
        frame.write.format("delta")
        .mode("append")
        .option("mergeSchema", "true")
        .option("userMetadata", batch_metadata(app_id, batch_id))
    )
    if may_be_written:
        last = last_appended_batch(frame.sparkSession, path, app_id)
        if last is not None and last >= batch_id:
            log.info("batch %s is in %s already (last: %s): not appended", batch_id, path, last)
            return
        if last is None:
            writer = writer.option("txnAppId", app_id).option("txnVersion", batch_id)
    writer.save(path)


def wait_for_end(
    query,
    run_for: float | None,
    stop_when_idle: float | None,
    stop_requested: Callable[[], bool] = lambda: False,
    poll_seconds: float = 1.0,
) -> str:
    """Block until the query ends by itself, has run ``run_for`` seconds, has seen no
    new records for ``stop_when_idle`` seconds, or a stop is requested; say which."""
    started = time.monotonic()
    last_data = started
    last_seen_batch = -1
    while True:
        if query.awaitTermination(poll_seconds):
            return "finished"
        if stop_requested():
            return "stop requested"
        now = time.monotonic()
        # The newest batch alone: recentProgress crosses into the JVM once per batch
        # it keeps, every poll, and a Kafka source runs no batch without new records.
        progress = query.lastProgress
        if progress and progress["batchId"] > last_seen_batch:
            last_seen_batch = progress["batchId"]
            if progress["numInputRows"] > 0:
                last_data = now
        if run_for is not None and now - started >= run_for:
            return f"ran for {run_for:.0f}s"
        idle = stop_when_idle is not None and now - last_data >= stop_when_idle
        if idle and not query.status.get("isDataAvailable", False):
            return f"idle for {stop_when_idle:.0f}s"


def stop_between_batches(query, timeout: float = 30.0, poll_seconds: float = 0.1) -> bool:
    """Stop ``query`` once the micro-batch in flight, if any, has finished; say whether it had.

    ``StreamingQuery.stop()`` interrupts the stream thread: landing in the middle of a
    Delta write, it ended the thread with ``InterruptedException`` and a py4j
    ``StackOverflowError``. The idempotent writes keep the table right either way;
    waiting for the batch in flight keeps the end clean as well. A job that is behind
    starts its next trigger at once, so "no trigger active" may never be seen: a newer
    finished batch in the progress counts as the end of the one in flight.
    """
    deadline = time.monotonic() + timeout
    last = query.lastProgress
    in_flight_after = last["batchId"] if last else -1
    finished = True
    while query.isActive and query.status.get("isTriggerActive", False):
        latest = query.lastProgress
        if latest and latest["batchId"] > in_flight_after:
            break
        if time.monotonic() >= deadline:
            log.warning("a micro-batch is still running after %.0fs: stopping it", timeout)
            finished = False
            break
        time.sleep(poll_seconds)
    if query.isActive:
        query.stop()
    return finished


# An hour of batches at one a second, a few MB of driver memory.
RECENT_PROGRESS_KEPT = 4000


def spark_session(app_name: str) -> SparkSession:
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.appName(app_name)
        # Event times are UTC on the wire; a zone-less one must not take the host's zone.
        .config("spark.sql.session.timeZone", "UTC")
        # A streaming job's summary (rows read, per-batch timings for the DR drill's
        # report and the benchmarks) comes from the progress Spark keeps, 100 batches by
        # default: a job at a batch a second outlives that in two minutes.
        .config("spark.sql.streaming.numRecentProgressUpdates", str(RECENT_PROGRESS_KEPT))
        .getOrCreate()
    )
