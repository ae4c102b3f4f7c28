"""The ingestor and the generator against the real broker (started by ./lab up)."""

from __future__ import annotations

import json

import httpx
import pytest

from kafkalab.domain.schemas import FINANCIAL, INSURANCE, STREAMS, sequenced_id
from kafkalab.generator.runner import GeneratorConfig, run_generator
from kafkalab.kafka.ranges import read_between
from tests.support.events import LAB_GUIDE_CLAIM, LAB_GUIDE_TRANSACTION
from tests.support.kafka import ids_of_run, snapshot


@pytest.mark.parametrize("batch_size", [1, 50], ids=["single-event", "batch"])
def test_every_acknowledged_event_is_in_its_topic_exactly_once(
    settings, unique_name, batch_size
) -> None:
    before = snapshot(settings)
    summary = run_generator(
        GeneratorConfig(
            ingestor_url=settings.ingestor_url,
            run_id=unique_name,
            count=600,
            batch_size=batch_size,
            concurrency=8,
        )
    )
    assert summary.acknowledged == 600 and summary.rejected == 0, summary.line()
    after = snapshot(settings)
    seen = ids_of_run(settings, before, after, unique_name)
    for stream in STREAMS.values():
        topic_summary = summary.topics[stream.topic]
        expected = {
            sequenced_id(stream.id_prefix, unique_name, seq)
            for seq in range(topic_summary["first_sequence"], topic_summary["last_sequence"] + 1)
        }
        assert set(seen[stream.topic]) == expected, f"{stream.topic}: ids differ"
        duplicates = {i: n for i, n in seen[stream.topic].items() if n > 1}
        assert duplicates == {}, f"{stream.topic}: duplicated ids {duplicates}"


def test_a_response_names_the_partition_and_offset_of_the_record(settings, unique_name) -> None:
    event = {**LAB_GUIDE_TRANSACTION, "transaction_id": unique_name}
    response = httpx.post(settings.ingestor_url + FINANCIAL.path, json=event, timeout=30)
    assert response.status_code == 200, response.text
    result = response.json()
    [record] = read_between(
        settings,
        FINANCIAL.topic,
        {result["partition"]: result["offset"]},
        {result["partition"]: result["offset"] + 1},
    )
    assert json.loads(record.value)["transaction_id"] == unique_name
    assert record.key == LAB_GUIDE_TRANSACTION["account_id"].encode()


def test_a_retried_event_id_is_not_published_twice(settings, unique_name) -> None:
    event = {**LAB_GUIDE_CLAIM, "claim_id": unique_name}
    first = httpx.post(settings.ingestor_url + INSURANCE.path, json=event, timeout=30).json()
    second = httpx.post(settings.ingestor_url + INSURANCE.path, json=event, timeout=30).json()
    assert (first["partition"], first["offset"]) == (second["partition"], second["offset"])


MALFORMED = {
    "malformed JSON": (FINANCIAL.path, b'{"transaction_id": "x", ', 422),
    "wrong type": (FINANCIAL.path, {**LAB_GUIDE_TRANSACTION, "amount": "lots"}, 422),
    "negative amount": (FINANCIAL.path, {**LAB_GUIDE_TRANSACTION, "amount": -5}, 422),
    "missing field": (
        INSURANCE.path,
        {k: v for k, v in LAB_GUIDE_CLAIM.items() if k != "claim_type"},
        422,
    ),
    "unknown field": (INSURANCE.path, {**LAB_GUIDE_CLAIM, "hacked": True}, 422),
    "one bad event in a batch": (
        FINANCIAL.batch_path,
        [LAB_GUIDE_TRANSACTION, {**LAB_GUIDE_TRANSACTION, "currency": "dollars"}],
        422,
    ),
    "empty batch": (FINANCIAL.batch_path, [], 422),
    "oversized body": (FINANCIAL.batch_path, b"[" + b" " * (5 * 1024 * 1024) + b"]", 413),
}


@pytest.mark.parametrize("case", MALFORMED, ids=list(MALFORMED))
def test_bad_requests_get_4xx_and_publish_nothing(settings, case: str) -> None:
    path, body, expected_status = MALFORMED[case]
    before = snapshot(settings)
    if isinstance(body, bytes):
        response = httpx.post(
            settings.ingestor_url + path,
            content=body,
            timeout=30,
            headers={"content-type": "application/json"},
        )
    else:
        response = httpx.post(settings.ingestor_url + path, json=body, timeout=30)
    assert response.status_code == expected_status, response.text
    assert snapshot(settings) == before, "a refused request changed a topic's end offsets"


def test_validation_errors_name_the_field(settings) -> None:
    response = httpx.post(
        settings.ingestor_url + FINANCIAL.path,
        json={**LAB_GUIDE_TRANSACTION, "currency": "usd"},
        timeout=30,
    )
    assert [e["loc"] for e in response.json()["detail"]] == [["body", "currency"]]


def test_health_and_metrics(settings) -> None:
    health = httpx.get(settings.ingestor_url + "/health", timeout=10)
    assert health.status_code == 200 and health.json()["status"] == "ok"
    metrics = httpx.get(settings.ingestor_url + "/metrics", timeout=10).text
    for name in (
        "ingestor_events_accepted_total",
        "ingestor_requests_rejected_total",
        "ingestor_events_published_total",
        "ingestor_publish_latency_seconds",
    ):
        assert name in metrics
