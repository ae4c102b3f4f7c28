"""The plugin's app: anonymous requests are refused; pages render from stand-in facts.

No API server here: Airflow's ``get_user`` refuses a request without a token before it
asks any auth manager, which is what an anonymous visitor meets on the real server
(tests/e2e/test_ui.py proves that too). The rendering tests stand in for the auth.
"""

from __future__ import annotations

import io
import json

import pytest
from fastapi.testclient import TestClient

from kafkalab.domain.lag import LagSnapshot, PartitionLag
from kafkalab.domain.report import REPORT_SCHEMA
from kafkalab.settings import get_settings
from kafkalab.ui import kafka_state
from kafkalab.ui.app import create_app
from kafkalab.ui.kafka_state import Broker, ClusterState
from kafkalab.ui.model import PartitionRow, TopicRow, group_view

ROUTES = [
    "/kafka",
    "/kafka/fragment",
    "/kafka/state.json",
    "/kafka/lag/some-group.png",
    "/report/kafka_ingest_basic/manual__1",
    "/report/kafka_ingest_basic/manual__1/lag.png",
    "/report/kafka_ingest_basic/manual__1/files/report.json",
]


@pytest.mark.parametrize("route", ROUTES)
def test_an_anonymous_request_is_refused(route: str) -> None:
    client = TestClient(create_app(get_settings()))

    response = client.get(route)

    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "Not authenticated"}


@pytest.fixture
def signed_in():
    app = create_app(get_settings())
    for dependency in app.state.auth_dependencies:
        app.dependency_overrides[dependency] = lambda: None
    return TestClient(app)


class FakeObjectStore:
    def __init__(self, objects: dict[str, bytes]) -> None:
        self.objects = objects
        self.asked: list[tuple[str, str]] = []

    def get_object(self, bucket: str, key: str):
        from minio.error import S3Error

        self.asked.append((bucket, key))
        if key not in self.objects:
            raise S3Error(None, "NoSuchKey", "missing", key, "req", "host")
        body = io.BytesIO(self.objects[key])
        body.release_conn = lambda: None
        return body


def test_the_report_view_shows_verdict_checks_and_figures(signed_in, monkeypatch) -> None:
    report = {
        "schema": REPORT_SCHEMA,
        "title": "Kafka basic ingest",
        "dag_id": "kafka_ingest_basic",
        "run_id": "manual__1",
        "fault": "duplicate_records",
        "verdict": "failed",
        "checks": [
            {"task": "verify.records_exactly_once", "state": "failed", "message": "3 <dupes>"}
        ],
        "headline": [{"name": "events acknowledged", "value": 300, "unit": "events"}],
        "links": {},
        "series": {"lag": {"spark": [[0, 5], [2, 0]]}},
    }
    store = FakeObjectStore(
        {"kafka_ingest_basic/manual__1/report.json": json.dumps(report).encode()}
    )
    monkeypatch.setattr("kafkalab.lake.object_store.object_store_client", lambda s: store)

    page = signed_in.get("/report/kafka_ingest_basic/manual__1")
    plot = signed_in.get("/report/kafka_ingest_basic/manual__1/lag.png")

    assert page.status_code == 200
    assert '<span id="verdict" class="verdict failed">FAILED</span>' in page.text
    assert "3 &lt;dupes&gt;" in page.text  # messages are escaped, not markup
    assert '<td class="num">300</td><td>events</td>' in page.text
    assert plot.headers["content-type"] == "image/png"
    assert plot.content.startswith(b"\x89PNG")
    assert store.asked[0] == (
        get_settings().reports_bucket,
        "kafka_ingest_basic/manual__1/report.json",
    )


def test_a_run_without_a_report_says_so(signed_in, monkeypatch) -> None:
    monkeypatch.setattr(
        "kafkalab.lake.object_store.object_store_client", lambda s: FakeObjectStore({})
    )

    page = signed_in.get("/report/other_dag/manual__2")

    assert page.status_code == 200
    assert "No lab report for run <code>manual__2</code> of <code>other_dag</code> yet" in page.text


def test_the_kafka_page_shows_each_groups_lag_per_partition(signed_in, monkeypatch) -> None:
    snapshot = LagSnapshot("g1", 10.0, [PartitionLag("t", 0, end_offset=9, committed_offset=4)])
    state = ClusterState(
        "127.0.0.1:9092",
        [Broker(1, "127.0.0.1:9092", True)],
        [TopicRow("t", [PartitionRow(0, 1, [1], [1], 9)])],
        [group_view("g1", "Empty", [], snapshot)],
        [snapshot],
    )
    monkeypatch.setattr(kafka_state, "cluster_state", lambda settings: state)

    page = signed_in.get("/kafka")
    data = signed_in.get("/kafka/state.json").json()
    chart = signed_in.get("/kafka/lag/g1.png")

    assert page.status_code == 200
    assert '<tr data-topic="t" data-partition="0" data-lag="5">' in page.text
    assert data["groups"] == [{"group": "g1", "state": "Empty", "members": 0, "total_lag": 5}]
    assert data["lag"][0]["partitions"][0]["lag"] == 5
    assert chart.content.startswith(b"\x89PNG")
