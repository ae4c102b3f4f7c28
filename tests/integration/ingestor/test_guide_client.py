"""Events shaped exactly as the lab guide platform's own client sends them.

That client (its ``simulate_data.py``) writes every time field with
``isoformat(timespec="seconds") + "Z"`` (the claim's ``incident_date`` included, as a
datetime), sends optional fields as ``null`` and knows nothing of our additions
(``run_id``, ``sequence``, ``produced_at``). A user's copy of it must keep working.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess

import httpx

from kafkalab.domain.schemas import FINANCIAL, INSURANCE, StreamSpec
from kafkalab.kafka.client import producer_config
from kafkalab.kafka.ranges import read_between
from kafkalab.lab.stack.environment import child_environment
from kafkalab.lake.delta import DeltaTableMissing, read_delta
from tests.support.streaming import STREAMING_JOB

EVENTS_PER_STREAM = 40


def guide_time(moment: dt.datetime) -> str:
    """The client's time format: naive UTC to the second, then a literal Z."""
    return moment.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def guide_transaction(event_id: str, now: dt.datetime, rng: random.Random) -> dict:
    return {
        "transaction_id": event_id,
        "timestamp": guide_time(now),
        "account_id": f"ACC{rng.randint(10000, 99999)}",
        "amount": round(rng.uniform(5, 5000), 2),
        "currency": rng.choice(["USD", "EUR", "GBP"]),
        "transaction_type": rng.choice(["purchase", "transfer", "withdrawal"]),
        "merchant_id": None,
        "category": None,
        "is_flagged": False,
    }


def guide_claim(event_id: str, now: dt.datetime, rng: random.Random) -> dict:
    incident = now - dt.timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23))
    return {
        "claim_id": event_id,
        "timestamp": guide_time(now),
        "policy_number": f"POL{rng.randint(100000, 999999)}",
        "claim_amount": round(rng.uniform(100, 50000), 2),
        "claim_type": rng.choice(["auto", "home", "health"]),
        "claim_status": "submitted",
        "customer_id": f"CUST{rng.randint(1000, 9999)}",
        "incident_date": guide_time(incident),
    }


BUILDERS = {FINANCIAL.name: guide_transaction, INSURANCE.name: guide_claim}


def test_every_event_of_the_guide_client_is_accepted_and_lands_in_kafka(
    settings, unique_name
) -> None:
    rng = random.Random(unique_name)
    now = dt.datetime.now(dt.UTC)
    sent: dict[str, dict[str, dict]] = {}
    where: dict[str, dict[str, tuple[int, int]]] = {}
    with httpx.Client(base_url=settings.ingestor_url, timeout=30) as client:
        for stream in (FINANCIAL, INSURANCE):
            sent[stream.name], where[stream.name] = {}, {}
            for i in range(EVENTS_PER_STREAM):
                event = BUILDERS[stream.name](f"{unique_name}-{stream.name}-{i}", now, rng)
                response = client.post(stream.path, json=event)
                assert response.status_code == 200, (
                    f"{stream.path} refused the guide client's event {event}: {response.text}"
                )
                result = response.json()
                sent[stream.name][result["id"]] = event
                where[stream.name][result["id"]] = (result["partition"], result["offset"])

    for stream in (FINANCIAL, INSURANCE):
        found = _published(settings, stream, where[stream.name])
        assert set(found) == set(sent[stream.name]), f"{stream.topic}: events missing"
        for event_id, event in sent[stream.name].items():
            # Every field as sent: the instant of `incident_date` and nulls included.
            published = {name: found[event_id].get(name) for name in event}
            assert published == event, f"{stream.topic}: {event_id} changed on the way"


def _published(settings, stream: StreamSpec, where: dict[str, tuple[int, int]]) -> dict[str, dict]:
    partitions: dict[int, list[int]] = {}
    for partition, offset in where.values():
        partitions.setdefault(partition, []).append(offset)
    found = {}
    for record in read_between(
        settings,
        stream.topic,
        {p: min(offsets) for p, offsets in partitions.items()},
        {p: max(offsets) + 1 for p, offsets in partitions.items()},
    ):
        event = json.loads(record.value)
        if event.get(stream.id_field) in where:
            found[event[stream.id_field]] = event
    return found


def test_the_spark_job_keeps_the_incident_instant_of_guide_client_claims(
    settings, kafka_topics
) -> None:
    """From Kafka to Delta: a datetime incident keeps its instant, a date its day."""
    topic = kafka_topics.create(f"it_guide_claims_{os.urandom(4).hex()}", partitions=1)
    _check_claims_through_spark(settings, topic)


def _check_claims_through_spark(settings, topic: str) -> None:
    from confluent_kafka import Producer

    now = dt.datetime(2026, 10, 2, 9, 30, tzinfo=dt.UTC)
    claims = {
        "as-datetime": guide_claim("as-datetime", now, random.Random(1))
        | {"incident_date": "2026-10-01T08:00:00Z"},
        "with-offset": guide_claim("with-offset", now, random.Random(2))
        | {"incident_date": "2026-10-01T00:00:00+02:00"},
        "as-date": guide_claim("as-date", now, random.Random(3)) | {"incident_date": "2026-09-30"},
    }
    producer = Producer(producer_config(settings))
    for claim in claims.values():
        producer.produce(topic, key=claim["policy_number"], value=json.dumps(claim))
    assert producer.flush(30) == 0

    output = f"s3a://{settings.raw_bucket}/tests/guide_claims/{os.urandom(4).hex()}"
    result = subprocess.run(
        [
            str(settings.paths.venv / "bin" / "spark-submit"),
            str(STREAMING_JOB),
            topic,
            settings.kafka_bootstrap,
            output,
            "--stream",
            INSURANCE.name,
            "--startingOffsets",
            "earliest",
            "--trigger",
            "availableNow",
        ],
        env=child_environment(settings),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    try:
        quarantined = read_delta(settings, f"{output}_quarantine").to_pylist()
    except DeltaTableMissing:
        quarantined = []
    assert quarantined == [], [row["quarantine_reason"] for row in quarantined]
    rows = read_delta(settings, output, ["claim_id", "incident_date"]).to_pylist()
    incidents = {row["claim_id"]: row["incident_date"].astimezone(dt.UTC) for row in rows}
    assert incidents == {
        "as-datetime": dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC),
        "with-offset": dt.datetime(2026, 9, 30, 22, tzinfo=dt.UTC),
        # A date is its day's start in UTC, the job's session time zone.
        "as-date": dt.datetime(2026, 9, 30, tzinfo=dt.UTC),
    }
