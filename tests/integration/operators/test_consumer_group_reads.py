"""A consumer group's read against the real broker: it commits the position it reached,
stops where told, resumes from its commits, and samples another group's lag while reading;
the fan-out comparison catches a duplicate every consumer agrees on."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException
from confluent_kafka import Producer

from kafkalab.domain.schemas import FINANCIAL, sequenced_id
from kafkalab.generator.runner import fill_topic
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.kafka.client import producer_config
from kafkalab.kafka.consumer_groups import Watch, run_consumer_group
from kafkalab.operators.checks import (
    CompareSequencesOperator,
    consumer_views,
    same_sequences_failure,
)
from kafkalab.operators.consumer_group import ConsumerGroupRunOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator
from tests.support.streaming import produce_transactions


@pytest.fixture
def topic(kafka_topics, unique_name):
    return kafka_topics.create(unique_name)


def test_a_group_stopped_midway_commits_where_it_got_and_resumes_from_there(
    settings, topic
) -> None:
    produce_transactions(settings, topic, 300, run_id=topic)
    admin = KafkaAdmin(settings)
    end = admin.end_offsets(topic)
    stop = {p: o // 2 for p, o in end.items()}
    config = {"bootstrap.servers": settings.kafka_bootstrap}
    group = f"{topic}-stopped"

    first = run_consumer_group(config, group, topic, until=end, stop_at=stop, keep_records=True)
    # Kafka's record is the position reached, not the target the read was given.
    assert admin.committed_offsets(group, [topic])[topic] == stop
    assert first["stopped_early"] is True
    assert {int(p): s["reached"] for p, s in first["partitions"].items()} == stop

    second = run_consumer_group(config, group, topic, until=end, resume=True, keep_records=True)
    assert admin.committed_offsets(group, [topic])[topic] == end
    assert {int(p): s["from"] for p, s in second["partitions"].items()} == stop

    whole = run_consumer_group(config, f"{topic}-whole", topic, until=end, keep_records=True)
    views = consumer_views({"whole": whole, "two legs": [first, second]})
    assert same_sequences_failure(topic, views) is None
    assert views.received == {"whole": 300, "two legs": 300}


def test_a_read_samples_the_watched_groups_lag_inside_its_window_and_follows_live(
    settings, topic
) -> None:
    produce_transactions(settings, topic, 90, run_id=topic)
    config = {"bootstrap.servers": settings.kafka_bootstrap}
    # The watched group never read: its lag is everything, 90 records.
    watched = run_consumer_group(
        config,
        f"{topic}-reader",
        topic,
        watch=Watch(f"{topic}-idle", [topic], every=0.5),
        follow_seconds=2,
    )
    window = watched["watched"]
    assert window["group"] == f"{topic}-idle"
    assert len(window["samples"]) >= 3  # at the start, while following, at the end
    assert all(window["started_at"] <= t <= window["ended_at"] for t, _ in window["samples"])
    assert {lag for _, lag in window["samples"]} == {90}
    assert watched["followed"] == 0 and watched["consumed"] == 90


def test_a_duplicate_in_kafka_that_every_consumer_sees_fails_the_comparison_by_id(
    settings, unique_name
) -> None:
    """Consumers agree with each other on a second copy of an event; only the generator's
    acknowledged ids show that it is one too many."""
    topic = FINANCIAL.topic
    snapshot = SnapshotEndOffsetsOperator(task_id="s", topics=[topic])
    start = snapshot.execute({})
    summary = json.loads(fill_topic(settings.kafka_bootstrap, topic, 60, unique_name).to_json())

    def compare(target: dict, groups: str) -> dict:
        reads = {
            name: ConsumerGroupRunOperator(
                task_id=name,
                group=f"{unique_name}-{groups}-{name}",
                topic=topic,
                until=target,
                window_start=start,
                from_beginning=False,
                keep_records=True,
            ).execute({})
            for name in ("dashboard", "audit")
        }
        return CompareSequencesOperator(
            task_id="same_sequence",
            topic=topic,
            sequences=reads,
            acknowledged_at_target={"summary": summary},
            acknowledged=summary,
        ).execute({})

    assert compare(snapshot.execute({}), "clean")["acknowledged_before_target"] == 60

    # A second record with an acknowledged event's id: a producer retry without
    # idempotence, or a replayed batch.
    copied = sequenced_id(FINANCIAL.id_prefix, unique_name, 7)
    producer = Producer(producer_config(settings))
    producer.produce(topic, json.dumps({FINANCIAL.id_field: copied}).encode(), key=b"copy")
    assert producer.flush(30) == 0
    with pytest.raises(AirflowFailException) as failure:
        compare(snapshot.execute({}), "copied")
    message = str(failure.value)
    assert f"do not hold exactly the events generator run {unique_name} acknowledged" in message
    for consumer in ("dashboard", "audit"):
        assert f"{consumer}: 1 events more than once, e.g. {copied} at " in message
