"""Every Airflow building block against the real broker, object store and Spark.

Operators run their ``execute`` directly (connections come from the lab's
``AIRFLOW_CONN_*`` variables); sensors run their trigger loop inline
(``deferrable=False``), the same loop the triggerer runs.
"""

from __future__ import annotations

import json
import os
import time
from typing import NamedTuple

import pytest
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.domain.schemas import FINANCIAL
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.kafka.consumer_groups import run_consumer_group
from kafkalab.operators.consumer_group import ConsumerGroupRunOperator
from kafkalab.operators.delta import DeltaReconcileOperator
from kafkalab.operators.generator import (
    GeneratorRunOperator,
    GeneratorStatusOperator,
    StartGeneratorOperator,
    StopGeneratorOperator,
)
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator, SnapshotGroupOffsetsOperator
from kafkalab.operators.recovery import (
    JobProgressOperator,
    PauseHeldOperator,
    RecoveryObjectivesOperator,
)
from kafkalab.operators.spark import (
    PauseStreamingJobOperator,
    ResumeStreamingJobOperator,
    SparkStreamingJobOperator,
    StartStreamingJobOperator,
    StopStreamingJobOperator,
)
from kafkalab.operators.topics import (
    AlterTopicConfigOperator,
    AlterTopicPartitionsOperator,
    DescribeTopicOperator,
    EnsureTopicOperator,
)
from kafkalab.sensors.delta import DeltaTableSensor
from kafkalab.sensors.lag import ConsumerLagSensor
from kafkalab.triggers.lag import ConsumerLagTrigger
from tests.support.lab import kafka_tool, printed_group_lag
from tests.support.streaming import produce_transactions

CONTEXT: dict = {}


def admin(settings) -> KafkaAdmin:
    return KafkaAdmin(settings)


@pytest.fixture
def topic(kafka_topics, unique_name):
    return kafka_topics.create(unique_name)


# --- topics ---------------------------------------------------------------------------------


def test_ensure_is_idempotent_and_describe_shows_what_was_asked(kafka_topics, unique_name) -> None:
    kafka_topics.track(unique_name)
    ensure = EnsureTopicOperator(
        task_id="ensure", topic=unique_name, partitions=3, configs={"retention.ms": 3_600_000}
    )
    first = ensure.execute(CONTEXT)
    second = ensure.execute(CONTEXT)
    assert first["outcome"] == "created with 3 partitions"
    assert second["outcome"] == "exists with 3 partitions"
    described = DescribeTopicOperator(
        task_id="d", topic=unique_name, expected_partitions=3
    ).execute(CONTEXT)
    assert described["partitions"] == 3
    assert described["configs"]["retention.ms"] == "3600000"


def test_partitions_grow_but_never_shrink(settings, topic) -> None:
    grown = AlterTopicPartitionsOperator(task_id="a", topic=topic, partitions=6).execute(CONTEXT)
    assert (grown["before"], grown["after"]) == (3, 6)
    result = kafka_tool(settings, "kafka-topics", "--describe", "--topic", topic)
    assert "PartitionCount: 6" in result.stdout
    with pytest.raises(AirflowFailException, match="has 6 partitions, expected 3"):
        DescribeTopicOperator(task_id="d", topic=topic, expected_partitions=3).execute(CONTEXT)


def test_a_topic_already_at_the_target_does_not_pass_as_increased(topic) -> None:
    AlterTopicPartitionsOperator(task_id="a", topic=topic, partitions=6).execute(CONTEXT)
    with pytest.raises(AirflowFailException) as failure:
        AlterTopicPartitionsOperator(task_id="a", topic=topic, partitions=6).execute(CONTEXT)
    assert f"topic {topic} already had 6 partitions before the change" in str(failure.value)
    with pytest.raises(AirflowFailException, match="already had 6 partitions"):
        AlterTopicPartitionsOperator(task_id="a", topic=topic, partitions=4).execute(CONTEXT)


def test_kafka_itself_refuses_a_decrease(settings, topic) -> None:
    AlterTopicPartitionsOperator(task_id="a", topic=topic, partitions=6).execute(CONTEXT)
    refused = AlterTopicPartitionsOperator(
        task_id="r", topic=topic, partitions=3, expect_refusal=True
    ).execute(CONTEXT)
    assert (refused.get("refused_by"), refused.get("error")) == ("kafka", "INVALID_PARTITIONS"), (
        f"the refusal did not come from Kafka's partition rule: {refused}"
    )
    print(f"Kafka's refusal: {refused['error']}: {refused['refused']}")
    # The broker's words, not the lab's: they name the topic and its current count.
    assert topic in refused["refused"] and "6 partition" in refused["refused"]
    assert "cannot decrease" not in refused["refused"]
    assert len(admin(settings).topic_partitions(topic)) == 6
    with pytest.raises(AirflowFailException, match="is not a decrease"):
        AlterTopicPartitionsOperator(
            task_id="r", topic=topic, partitions=6, expect_refusal=True
        ).execute(CONTEXT)


def test_retention_can_be_altered(topic) -> None:
    result = AlterTopicConfigOperator(
        task_id="c", topic=topic, configs={"retention.ms": "7200000"}
    ).execute(CONTEXT)
    assert result["configs"]["retention.ms"] == "7200000"


def test_an_unknown_topic_is_named(unique_name) -> None:
    with pytest.raises(AirflowFailException, match=f"topic '{unique_name}' does not exist"):
        SnapshotEndOffsetsOperator(task_id="s", topics=[unique_name]).execute(CONTEXT)


# --- offsets, groups, lag ------------------------------------------------------------------


def test_snapshots_count_what_was_produced(settings, topic) -> None:
    produce_transactions(settings, topic, 300, run_id=topic)
    snapshot = SnapshotEndOffsetsOperator(task_id="s", topics=[topic]).execute(CONTEXT)
    assert sum(snapshot["topics"][topic].values()) == 300
    earliest = SnapshotEndOffsetsOperator(task_id="s", topics=topic, which="earliest")
    assert set(earliest.execute(CONTEXT)["topics"][topic].values()) == {0}


def test_groups_see_identical_sequences_and_the_lag_sensor_agrees_with_kafka_tools(
    settings, topic
) -> None:
    produce_transactions(settings, topic, 500, run_id=topic)
    snapshot = SnapshotEndOffsetsOperator(task_id="s", topics=[topic]).execute(CONTEXT)
    runs = [
        ConsumerGroupRunOperator(
            task_id=f"g{i}", group=f"{topic}-g{i}", topic=topic, until=snapshot
        ).execute(CONTEXT)
        for i in (1, 2)
    ]
    assert runs[0]["consumed"] == runs[1]["consumed"] == 500
    assert runs[0]["partitions"] == runs[1]["partitions"]

    # A group stopped early saw a shorter sequence: the digests tell.
    short = {p: max(0, o - 10) for p, o in snapshot["topics"][topic].items()}
    early = run_consumer_group(
        {"bootstrap.servers": settings.kafka_bootstrap},
        f"{topic}-early",
        topic,
        until={int(p): o for p, o in short.items()},
    )
    assert early["partitions"] != runs[0]["partitions"]

    met = ConsumerLagSensor(
        task_id="lag",
        group=f"{topic}-g1",
        topics=[topic],
        mode="at_most",
        threshold=0,
        deferrable=False,
        timeout_seconds=30,
    ).execute(CONTEXT)
    assert met["snapshot"]["total_lag"] == 0

    produce_transactions(settings, topic, 120, run_id=topic + "b")
    grown = ConsumerLagSensor(
        task_id="lag",
        group=f"{topic}-g1",
        topics=[topic],
        mode="grows_by",
        threshold=100,
        baseline_total=0,
        deferrable=False,
        timeout_seconds=30,
    ).execute(CONTEXT)
    assert grown["snapshot"]["total_lag"] == 120

    group_snapshot = SnapshotGroupOffsetsOperator(
        task_id="g", group=f"{topic}-g1", topics=[topic]
    ).execute(CONTEXT)
    printed = printed_group_lag(settings, f"{topic}-g1", topic)
    ours = {p["partition"]: p["lag"] for p in group_snapshot["lag"]["partitions"]}
    assert ours == printed

    with pytest.raises(AirflowFailException) as failure:
        ConsumerLagSensor(
            task_id="lag",
            group=f"{topic}-g1",
            topics=[topic],
            mode="drains_to",
            threshold=0,
            poll_interval=0.5,
            deferrable=False,
            timeout_seconds=2,
        ).execute(CONTEXT)
    message = str(failure.value)
    assert "expected total lag to drain to at most 0 within" in message
    assert "total lag is 120" in message and "LOG-END-OFFSET" in message


def test_the_lag_trigger_survives_serialization() -> None:
    trigger = ConsumerLagTrigger(
        kafka_config_id="kafka_default",
        group="g",
        topics=["t"],
        mode="grows_by",
        threshold=5,
        baseline_total=3,
    )
    path, kwargs = trigger.serialize()
    module, name = path.rsplit(".", 1)
    rebuilt = getattr(__import__(module, fromlist=[name]), name)(**kwargs)
    assert rebuilt.serialize() == (path, kwargs)


# --- the generator ------------------------------------------------------------------------------


def test_a_bounded_generator_run_reports_counts_and_id_ranges(unique_name) -> None:
    summary = GeneratorRunOperator(
        task_id="gen", run_id=unique_name, count=200, batch_size=20
    ).execute(CONTEXT)
    assert summary["acknowledged"] == 200
    ranges = [t for t in summary["topics"].values() if t["acknowledged"]]
    assert all(t["contiguous"] and t["first_sequence"] == 0 for t in ranges)


def test_a_background_generator_run_is_started_queried_and_stopped(unique_name) -> None:
    StartGeneratorOperator(task_id="start", run_id=unique_name, rate=200).execute(CONTEXT)
    time.sleep(3)
    status = GeneratorStatusOperator(task_id="st", run_id=unique_name).execute(CONTEXT)
    assert status["running"]
    final = StopGeneratorOperator(task_id="stop", run_id=unique_name).execute(CONTEXT)
    assert final["state"] == "stopped" and final["acknowledged"] > 0
    assert final["unacknowledged"] == 0


# --- Spark and Delta ------------------------------------------------------------------------------


class Landed(NamedTuple):
    topic: str
    output: str
    end: dict
    generator_summary: dict


@pytest.fixture(scope="module")
def landed(settings, kafka_topics):
    """A topic of its own streamed to Delta by SparkStreamingJobOperator (availableNow)."""
    name = f"it_blocks_{os.urandom(4).hex()}"
    kafka_topics.create(name)
    acknowledged = produce_transactions(settings, name, 400, run_id=name)
    output = f"s3a://{settings.raw_bucket}/tests/blocks/{name}"
    SparkStreamingJobOperator(
        task_id="spark",
        topic=name,
        output_path=output,
        stream="financial",
        consumer_group=f"spark-{name}",
    ).execute(CONTEXT)
    end = SnapshotEndOffsetsOperator(task_id="s", topics=[name]).execute(CONTEXT)
    return Landed(name, output, end, json.loads(acknowledged.to_json()))


def test_delta_sensor_sees_the_rows(landed) -> None:
    output = landed.output
    event = DeltaTableSensor(
        task_id="d", path=output, min_rows=400, deferrable=False, timeout_seconds=30
    ).execute(CONTEXT)
    assert event["rows"] == 400


def test_delta_sensor_names_a_missing_table(settings) -> None:
    with pytest.raises(AirflowFailException, match="there is no Delta table there"):
        DeltaTableSensor(
            task_id="d",
            path=f"s3a://{settings.raw_bucket}/tests/nothing-here",
            min_rows=1,
            poll_interval=0.5,
            deferrable=False,
            timeout_seconds=2,
        ).execute(CONTEXT)


def test_reconcile_passes_exactly_once_and_names_missing_offsets(landed) -> None:
    name, output, end, _ = landed
    summary = DeltaReconcileOperator(
        task_id="r", path=output, topic=name, to_offsets=end, id_column="transaction_id"
    ).execute(CONTEXT)
    assert summary["ok"] and summary["present"] == 400 and len(summary["digests"]) == 3

    beyond = {p: o + 5 for p, o in end["topics"][name].items()}
    with pytest.raises(AirflowFailException) as failure:
        DeltaReconcileOperator(task_id="r", path=output, topic=name, to_offsets=beyond).execute(
            CONTEXT
        )
    assert "5 missing offsets" in str(failure.value)
    assert f"does not hold {name} exactly once" in str(failure.value)


def test_reconcile_fails_on_rows_outside_the_range_and_checks_ids_against_kafka(landed) -> None:
    name, output, end, _ = landed
    ends = {int(p): o for p, o in end["topics"][name].items()}
    # Each partition's first 2 and last 3 rows fall outside a range cut short at both ends.
    narrower = {p: o - 3 for p, o in ends.items()}
    with pytest.raises(AirflowFailException) as failure:
        DeltaReconcileOperator(
            task_id="r",
            path=output,
            topic=name,
            from_offsets={p: 2 for p in ends},
            to_offsets=narrower,
            id_column="transaction_id",
        ).execute(CONTEXT)
    message = str(failure.value)
    for p, o in sorted(ends.items()):
        assert (
            f"partition {p}, expected offsets [2, {o - 3}): 2 rows before the range "
            f"(offsets 0-1); 3 rows after the range (offsets {o - 3}-{o - 1})"
        ) in message, message
    # Still streaming, the rows after the range are later records; the ids are Kafka's.
    summary = DeltaReconcileOperator(
        task_id="r",
        path=output,
        topic=name,
        from_offsets={p: 0 for p in ends},
        to_offsets=narrower,
        id_column="transaction_id",
        later_records_allowed=True,
    ).execute(CONTEXT)
    assert summary["ok"] and summary["ids_checked"] and summary["later_tolerated"] == 9
    assert (summary["wrong_ids"], summary["missing_ids"], summary["repeated_ids"]) == (0, 0, 0)


def recovery_objectives(landed: Landed, summary: dict, rto: float) -> RecoveryObjectivesOperator:
    now = time.time()
    return RecoveryObjectivesOperator(
        task_id="objectives",
        topic=landed.topic,
        stream="financial",
        path=landed.output,
        quarantine_path=f"{landed.output}_quarantine",
        generator_summary=summary,
        at_pause={"committed": {}, "taken_at": now - 100},
        recovery_point=landed.end,
        replay_start={"requested_at": now - 60, "query_started_at": now - 50},
        drained={"snapshot": {"taken_at": now - 60 + rto}},
        max_rto_seconds=120,
        max_window_at_risk_seconds=600,
    )


def test_recovery_objectives_compare_the_table_with_the_acknowledged_ids(landed) -> None:
    figures = recovery_objectives(landed, landed.generator_summary, rto=30).execute(CONTEXT)
    assert figures["events"] == {
        "acknowledged": 400,
        "recovered": 400,
        "lost": 0,
        "quarantined": 0,
        "duplicated": 0,
    }
    assert figures["rpo_events_lost"] == 0 and figures["window_at_risk_records"] == 400
    assert figures["rto_seconds"] == pytest.approx(30, abs=0.01)

    # Five more acknowledged events than the table holds, and a replay over its objective.
    counts = landed.generator_summary["topics"][FINANCIAL.topic]
    more = {**counts, "last_sequence": counts["last_sequence"] + 5}
    summary = {**landed.generator_summary, "topics": {FINANCIAL.topic: more}}
    with pytest.raises(AirflowFailException) as failure:
        recovery_objectives(landed, summary, rto=121).execute(CONTEXT)
    message = str(failure.value)
    assert "RPO is 5, not 0: 5 of the 405 acknowledged events are not in the recovered" in message
    assert "RTO was 121.0s, over the objective of 120s" in message


def test_a_background_streaming_job_pauses_lags_resumes_and_drains(settings, topic) -> None:
    produce_transactions(settings, topic, 200, run_id=topic)
    output = f"s3a://{settings.raw_bucket}/tests/background/{topic}"
    group = f"spark-{topic}"
    handle = f"test-{topic}"
    StartStreamingJobOperator(
        task_id="start",
        handle=handle,
        topic=topic,
        output_path=output,
        stream="financial",
        consumer_group=group,
        trigger="processingTime=1 second",
    ).execute(CONTEXT)
    try:
        ConsumerLagSensor(
            task_id="caught-up",
            group=group,
            topics=[topic],
            mode="drains_to",
            threshold=0,
            deferrable=False,
            timeout_seconds=120,
        ).execute(CONTEXT)
        paused = PauseStreamingJobOperator(task_id="pause", handle=handle).execute(CONTEXT)
        assert paused["state"] == "paused"
        progress = {"group": group, "topic": topic, "path": output}
        at_pause = JobProgressOperator(task_id="at-pause", **progress).execute(CONTEXT)
        produce_transactions(settings, topic, 300, run_id=topic + "b")
        ConsumerLagSensor(
            task_id="grows",
            group=group,
            topics=[topic],
            mode="grows_by",
            threshold=300,
            baseline_total=0,  # the lag was 0 when the job was paused
            deferrable=False,
            timeout_seconds=30,
        ).execute(CONTEXT)
        time.sleep(3)
        still = ConsumerLagSensor(
            task_id="still",
            group=group,
            topics=[topic],
            mode="at_most",
            threshold=10_000,
            deferrable=False,
        ).execute(CONTEXT)
        assert still["snapshot"]["total_lag"] == 300, "a paused job must not consume"
        held = PauseHeldOperator(task_id="held", at_pause=at_pause, **progress).execute(CONTEXT)
        assert held["committed"] == at_pause["committed"] and held["paused_seconds"] > 0
        ResumeStreamingJobOperator(task_id="resume", handle=handle).execute(CONTEXT)
        drained = ConsumerLagSensor(
            task_id="drain",
            group=group,
            topics=[topic],
            mode="drains_to",
            threshold=0,
            deferrable=False,
            timeout_seconds=120,
        ).execute(CONTEXT)
        assert drained["samples"][0][1] >= 300
        # Resumed, the job commits and writes again: as a pause, that one did not hold.
        with pytest.raises(AirflowFailException, match="did not stay paused") as failure:
            PauseHeldOperator(task_id="held", at_pause=at_pause, **progress).execute(CONTEXT)
        assert "its group's committed offsets moved: partition 0" in str(failure.value)
        assert f"its Delta table went from version {at_pause['table_version']} to" in str(
            failure.value
        )
    finally:
        stopped = StopStreamingJobOperator(task_id="stop", handle=handle).execute(CONTEXT)
    assert stopped["outcome"]["ended"] == "stop requested"
    end = SnapshotEndOffsetsOperator(task_id="s", topics=[topic]).execute(CONTEXT)
    summary = DeltaReconcileOperator(task_id="r", path=output, topic=topic, to_offsets=end).execute(
        CONTEXT
    )
    assert summary["present"] == 500
