"""spark_jobs/streaming_consumer.py on the real broker, object store and Spark."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from kafkalab.domain.schemas import MAX_LONG, FinancialTransaction
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.lab.stack.environment import child_environment
from kafkalab.lake.delta import DeltaTableMissing, read_delta
from tests.support.events import LAB_GUIDE_TRANSACTION
from tests.support.lab import printed_group_lag
from tests.support.streaming import (
    produce_transactions,
    run_streaming_job,
    streaming_command,
)

EVENTS = 3000


@pytest.fixture(scope="module")
def loaded_topic(settings, kafka_topics):
    """A topic of its own with EVENTS valid transactions, shared by this module's tests."""
    topic = f"it_stream_{os.urandom(4).hex()}"
    kafka_topics.create(topic)
    summary = produce_transactions(settings, topic, EVENTS, run_id=topic)
    assert summary.acknowledged == EVENTS
    return topic


def output_path(settings, name: str) -> str:
    return f"s3a://{settings.raw_bucket}/tests/{name}/{os.urandom(4).hex()}"


def offsets_in(settings, path: str) -> Counter:
    table = read_delta(settings, path, ["kafka_partition", "kafka_offset"]).to_pylist()
    return Counter((row["kafka_partition"], row["kafka_offset"]) for row in table)


def every_offset(settings, topic: str) -> set[tuple[int, int]]:
    admin = KafkaAdmin({"bootstrap.servers": settings.kafka_bootstrap})
    earliest, end = admin.earliest_offsets(topic), admin.end_offsets(topic)
    return {(p, offset) for p in end for offset in range(earliest[p], end[p])}


def test_every_event_lands_once_with_its_kafka_coordinates(settings, loaded_topic) -> None:
    output = output_path(settings, "stream")
    group = f"spark-{loaded_topic}"
    result = run_streaming_job(
        settings, loaded_topic, output, trigger="availableNow", consumer_group=group
    )
    assert result.returncode == 0, result.stderr

    seen = offsets_in(settings, output)
    assert {k: n for k, n in seen.items() if n > 1} == {}, "offsets written twice"
    assert set(seen) == every_offset(settings, loaded_topic)

    ids = read_delta(settings, output, ["transaction_id", "sequence"]).to_pylist()
    assert sorted(row["sequence"] for row in ids) == list(range(EVENTS))
    assert all(row["transaction_id"].startswith(f"txn-{loaded_topic}-") for row in ids)
    with pytest.raises(DeltaTableMissing):
        read_delta(settings, f"{output}_quarantine")

    assert printed_group_lag(settings, group, loaded_topic) == {0: 0, 1: 0, 2: 0}


def test_a_replay_from_earliest_into_a_new_path_has_everything_retained(
    settings, loaded_topic
) -> None:
    output = output_path(settings, "replay")
    result = run_streaming_job(
        settings,
        loaded_topic,
        output,
        trigger="availableNow",
        starting_offsets="earliest",
        # More batches than the 100 Spark keeps by default: the job's summary, which the
        # DR drill's report and the benchmarks read, must still cover every one.
        max_offsets_per_trigger=28,
    )
    assert result.returncode == 0, result.stderr
    assert result.outcome["last_batch"] > 100, "maxOffsetsPerTrigger should split the backlog"
    assert set(offsets_in(settings, output)) == every_offset(settings, loaded_topic)
    batches = [batch["batch"] for batch in result.outcome["batches"]]
    assert batches == list(range(result.outcome["last_batch"] + 1))
    assert result.outcome["rows_read"] == EVENTS


POISON = [
    b"this is not json",
    b'{"transaction_id": "p1"}',
    b'["a", "list"]',
    json.dumps(
        {
            "transaction_id": "p2",
            "timestamp": "2026-01-01T00:00:00Z",
            "account_id": "A",
            "amount": -4,
            "currency": "USD",
            "transaction_type": "purchase",
        }
    ).encode(),
    json.dumps(
        {
            "transaction_id": "p3",
            "timestamp": "2026-01-01T00:00:00Z",
            "account_id": "A",
            "amount": 4,
            "currency": "USD",
            "transaction_type": "purchase",
            "hacked": True,
        }
    ).encode(),
    None,
]


# The edges of what the ingestor accepts, as it publishes them: each must land in the
# table. Past them (an offset of +22:10, a sequence over 2**63-1) Spark could not read
# the event and quarantined it whole, so the ingestor refuses them.
ACCEPTED_EXTREMES = [
    {"timestamp": "2026-01-01T00:00:00+18:00"},
    {"timestamp": "2026-01-01T00:00:00-18:00"},
    {"timestamp": "0033-09-26T03:53:15.661000-17:26"},
    {"timestamp": "0001-01-01T18:00:00+18:00"},
    {"timestamp": "9999-12-31T05:59:59.999999-18:00"},
    {"sequence": MAX_LONG},
]


def test_poison_messages_are_quarantined_and_the_stream_goes_on(settings, kafka_topics) -> None:
    from confluent_kafka import Producer

    topic = f"it_poison_{os.urandom(4).hex()}"
    kafka_topics.create(topic, partitions=1)
    produce_transactions(settings, topic, 50, run_id=topic)
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for value in POISON:
        producer.produce(topic, key=b"poison", value=value)
    for number, extreme in enumerate(ACCEPTED_EXTREMES):
        event = {**LAB_GUIDE_TRANSACTION, "transaction_id": f"edge-{number}", **extreme}
        producer.produce(topic, value=FinancialTransaction(**event).model_dump_json().encode())
    producer.flush(30)
    produce_transactions(settings, topic, 50, run_id=topic + "b")

    output = output_path(settings, "poison")
    # The poison (offsets 50..) falls in a later batch than the first: only a run's first
    # batch may be a rerun, and the others find their quarantine by another way.
    result = run_streaming_job(
        settings, topic, output, trigger="availableNow", max_offsets_per_trigger=40
    )
    assert result.returncode == 0, result.stderr
    assert result.outcome["last_batch"] >= 1
    records = 100 + len(POISON) + len(ACCEPTED_EXTREMES)
    assert result.outcome["rows_read"] == records, "each record is read once"
    landed = read_delta(settings, output, ["transaction_id"])["transaction_id"].to_pylist()
    assert len(landed) == 100 + len(ACCEPTED_EXTREMES)
    assert {f"edge-{n}" for n in range(len(ACCEPTED_EXTREMES))} <= set(landed)
    quarantine = read_delta(settings, f"{output}_quarantine").to_pylist()
    reasons = sorted(row["quarantine_reason"] for row in quarantine)
    assert len(reasons) == len(POISON), reasons
    assert "amount must be > 0" in reasons
    assert "unknown fields: hacked" in reasons
    assert "empty value (tombstone)" in reasons
    assert any("missing" in reason for reason in reasons)
    assert {row["kafka_offset"] for row in quarantine} == set(range(50, 50 + len(POISON)))


def test_a_kill_9_mid_stream_then_restart_gives_no_duplicates_and_no_gaps(
    settings, kafka_topics
) -> None:
    topic = f"it_crash_{os.urandom(4).hex()}"
    kafka_topics.create(topic)
    produce_transactions(settings, topic, 60_000, run_id=topic)
    output = output_path(settings, "crash")
    checkpoint_commits = 0

    job = subprocess.Popen(
        streaming_command(
            settings,
            topic,
            output,
            trigger="processingTime=1 second",
            max_offsets_per_trigger=2000,
        ),
        env=child_environment(settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            try:
                checkpoint_commits = len(offsets_in(settings, output))
            except DeltaTableMissing:
                checkpoint_commits = 0
            if checkpoint_commits >= 6000:
                break
            time.sleep(0.5)
    finally:
        os.killpg(job.pid, signal.SIGKILL)
        job.wait(30)
    assert checkpoint_commits >= 6000, "the job wrote too little before the kill"
    assert checkpoint_commits < 60_000, "the job finished before the kill: nothing was tested"

    result = run_streaming_job(settings, topic, output, trigger="availableNow")
    assert result.returncode == 0, result.stderr
    seen = offsets_in(settings, output)
    assert {k: n for k, n in seen.items() if n > 1} == {}, "duplicates after the restart"
    assert set(seen) == every_offset(settings, topic), "gaps after the restart"
