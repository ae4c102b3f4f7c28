"""The ingestor's endpoints with a stand-in publisher: status codes, bodies, schema.

The real broker's side (acknowledgements, outages, fuzzing) is in
tests/integration/ingestor; here only what the routes decide themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kafkalab.domain.schemas import FINANCIAL, INSURANCE, STREAMS
from kafkalab.ingestor.app import app
from kafkalab.ingestor.publisher import Delivery, PublishError, RecentDeliveries
from tests.support.events import LAB_GUIDE_CLAIM, LAB_GUIDE_TRANSACTION


class StandInPublisher:
    """Acknowledges every record at the next offset of partition 0, unless told not to."""

    def __init__(self) -> None:
        self.broker_available = True
        self.refuse: set[str] = set()
        self.produced: list[tuple[str, str, bytes]] = []

    def publish_many(self, topic: str, records: list[tuple[str, bytes]]) -> asyncio.Future:
        outcomes = []
        for key, value in records:
            if any(refused.encode() in value for refused in self.refuse):
                outcomes.append(PublishError("Local: Message timed out"))
                continue
            self.produced.append((topic, key, value))
            outcomes.append(Delivery(topic, 0, len(self.produced) - 1))
        future = asyncio.get_running_loop().create_future()
        future.set_result(outcomes)
        return future


@pytest.fixture
def publisher() -> Iterator[StandInPublisher]:
    stand_in = StandInPublisher()
    # Without `with TestClient(...)` the lifespan (and its real producer) never runs.
    app.state.publisher = stand_in
    app.state.recent = RecentDeliveries()
    app.state.topics = {stream.name: stream.topic for stream in STREAMS.values()}
    yield stand_in
    del app.state.publisher, app.state.recent, app.state.topics


@pytest.fixture
def client(publisher: StandInPublisher) -> TestClient:
    return TestClient(app)


def test_an_acknowledged_event_answers_with_its_partition_and_offset(client, publisher) -> None:
    response = client.post(FINANCIAL.path, json=LAB_GUIDE_TRANSACTION)
    assert response.status_code == 200
    assert response.json() == {
        "id": "T-1",
        "status": "published",
        "topic": FINANCIAL.topic,
        "partition": 0,
        "offset": 0,
    }
    [(topic, key, _)] = publisher.produced
    assert (topic, key) == (FINANCIAL.topic, "ACC-1")


def test_each_stream_publishes_to_its_own_topic(client, publisher) -> None:
    assert client.post(INSURANCE.path, json=LAB_GUIDE_CLAIM).json()["topic"] == INSURANCE.topic
    batch = client.post(INSURANCE.batch_path, json=[LAB_GUIDE_CLAIM])
    assert batch.json()["results"][0]["topic"] == INSURANCE.topic


def test_a_batch_answers_per_event_and_publishes_a_repeated_id_once(client, publisher) -> None:
    second = {**LAB_GUIDE_TRANSACTION, "transaction_id": "T-2"}
    response = client.post(FINANCIAL.batch_path, json=[LAB_GUIDE_TRANSACTION, second, second])
    assert response.status_code == 200
    body = response.json()
    assert body["published"] == 3
    assert [(r["id"], r["offset"]) for r in body["results"]] == [("T-1", 0), ("T-2", 1), ("T-2", 1)]
    assert len(publisher.produced) == 2


def test_unacknowledged_events_get_503_with_retry_after(client, publisher) -> None:
    publisher.refuse = {"T-2"}
    second = {**LAB_GUIDE_TRANSACTION, "transaction_id": "T-2"}
    batch = client.post(FINANCIAL.batch_path, json=[LAB_GUIDE_TRANSACTION, second])
    assert batch.status_code == 503 and batch.headers["retry-after"] == "2"
    assert batch.json()["detail"] == "1 of 2 events not acknowledged"
    assert [r["status"] for r in batch.json()["results"]] == ["published", "failed"]
    single = client.post(FINANCIAL.path, json=second)
    assert single.status_code == 503
    assert single.json() == {
        "detail": "Kafka did not acknowledge the event: Local: Message timed out"
    }


@pytest.mark.parametrize("stream", STREAMS.values(), ids=list(STREAMS))
def test_a_broker_known_to_be_down_gets_503_before_publishing(client, publisher, stream) -> None:
    publisher.broker_available = False
    event = LAB_GUIDE_TRANSACTION if stream is FINANCIAL else LAB_GUIDE_CLAIM
    for path, body in ((stream.path, event), (stream.batch_path, [event])):
        response = client.post(path, json=body)
        assert response.status_code == 503 and response.headers["retry-after"] == "2"
        assert response.json() == {
            "detail": "Kafka is unreachable; nothing was published, retry later"
        }
    assert publisher.produced == []


def test_invalid_events_get_422_naming_the_field(client, publisher) -> None:
    single = client.post(FINANCIAL.path, json={**LAB_GUIDE_TRANSACTION, "currency": "usd"})
    assert single.status_code == 422
    assert [e["loc"] for e in single.json()["detail"]] == [["body", "currency"]]
    batch = client.post(INSURANCE.batch_path, json=[LAB_GUIDE_CLAIM, {**LAB_GUIDE_CLAIM, "x": 1}])
    assert batch.status_code == 422
    assert [e["loc"] for e in batch.json()["detail"]] == [["body", 1, "x"]]
    assert client.post(INSURANCE.batch_path, json=[]).status_code == 422
    assert publisher.produced == []


def test_the_openapi_document_names_each_endpoint_and_its_body() -> None:
    paths = app.openapi()["paths"]
    # Operation ids are what generated clients call: the names of the endpoints that
    # were written out one by one before the route factory.
    posts = {path: item["post"] for path, item in paths.items() if "post" in item}
    operation_ids = {path: post["operationId"] for path, post in posts.items()}
    assert operation_ids == {
        "/ingest-financial-transaction/": (
            "ingest_financial_transaction_ingest_financial_transaction__post"
        ),
        "/ingest-financial-transaction/batch": (
            "ingest_financial_transactions_ingest_financial_transaction_batch_post"
        ),
        "/ingest-insurance-claim/": "ingest_insurance_claim_ingest_insurance_claim__post",
        "/ingest-insurance-claim/batch": (
            "ingest_insurance_claims_ingest_insurance_claim_batch_post"
        ),
    }
    for stream in STREAMS.values():
        single = paths[stream.path]["post"]
        batch = paths[stream.batch_path]["post"]
        model_ref = f"#/components/schemas/{stream.model.__name__}"
        assert single["tags"] == batch["tags"] == [stream.name]
        assert single["requestBody"]["content"]["application/json"]["schema"]["$ref"] == model_ref
        batch_schema = batch["requestBody"]["content"]["application/json"]["schema"]
        assert batch_schema["type"] == "array" and batch_schema["items"]["$ref"] == model_ref
        assert {"413", "422", "503"} <= set(single["responses"]) & set(batch["responses"])
