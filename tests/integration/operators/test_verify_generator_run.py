"""The ingest exercise's check against the real broker: it fails on missing and invalid
records of the run, naming them, and passes on what the generator really acknowledged."""

from __future__ import annotations

import json

import pytest
from airflow.sdk.exceptions import AirflowFailException
from confluent_kafka import Producer

from kafkalab.domain.schemas import FINANCIAL, INSURANCE, sequenced_id
from kafkalab.generator.runner import fill_topic
from kafkalab.kafka.client import producer_config
from kafkalab.operators.checks import VerifyGeneratorRunOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator

TOPICS = [FINANCIAL.topic, INSURANCE.topic]


def end_offsets() -> dict:
    return SnapshotEndOffsetsOperator(task_id="s", topics=TOPICS).execute({})


def verify(summary: dict, before: dict, after: dict) -> dict:
    return VerifyGeneratorRunOperator(
        task_id="v", generator_summary=summary, before=before, after=after
    ).execute({})


def test_missing_and_invalid_records_of_the_run_fail_the_check(settings, unique_name) -> None:
    before = end_offsets()
    run = fill_topic(settings.kafka_bootstrap, FINANCIAL.topic, 40, run_id=unique_name)
    summary = json.loads(run.to_json())
    summary["topics"].setdefault(INSURANCE.topic, {"acknowledged": 0})
    counts = summary["topics"][FINANCIAL.topic]
    figures = verify(summary, before, end_offsets())
    assert figures[FINANCIAL.topic]["acknowledged"] == 40
    assert figures[FINANCIAL.topic]["found"] == figures[FINANCIAL.topic]["distinct"] == 40

    # The generator claims three more acknowledged events than Kafka holds.
    claimed = {**counts, "last_sequence": counts["last_sequence"] + 3}
    with pytest.raises(AirflowFailException) as failure:
        verify(
            {**summary, "topics": {**summary["topics"], FINANCIAL.topic: claimed}},
            before,
            end_offsets(),
        )
    last = counts["last_sequence"]
    assert (
        f"{FINANCIAL.topic}: 3 acknowledged events missing (sequences {last + 1}-{last + 3})"
    ) in str(failure.value)

    # A record of the run that breaks the event schema (another producer, a bad deploy).
    producer = Producer(producer_config(settings))
    poison = {
        FINANCIAL.id_field: sequenced_id(FINANCIAL.id_prefix, unique_name, 10**6),
        "run_id": unique_name,
        "amount": "a lot",
    }
    producer.produce(FINANCIAL.topic, json.dumps(poison).encode(), key=b"poison")
    assert producer.flush(30) == 0
    with pytest.raises(AirflowFailException) as failure:
        verify(summary, before, end_offsets())
    message = str(failure.value)
    assert f"generator run {unique_name}: Kafka does not hold what was acknowledged" in message
    assert f"{FINANCIAL.topic}: 1 records fail the schema, e.g. " in message
    assert "'amount': 'a lot'" in message
