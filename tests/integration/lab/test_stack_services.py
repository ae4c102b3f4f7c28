"""The local stack's services, reached as a user reaches them."""

from __future__ import annotations

import io
import json
import socket

import httpx
import pytest

from kafkalab.lab.stack.environment import airflow_admin_password
from kafkalab.lab.stack.lifecycle import Stack
from kafkalab.lab.stack.services import ServiceError
from kafkalab.lake.object_store import object_store_client
from tests.support.lab import kafka_tool, lab


def test_lab_guide_describe_shows_three_partitions(settings) -> None:
    result = kafka_tool(
        settings,
        "kafka-topics",
        "--describe",
        "--topic",
        "raw_financial_transactions",
    )
    assert result.returncode == 0, result.stderr
    assert "PartitionCount: 3" in result.stdout


def test_console_producer_and_consumer_round_trip(settings, unique_name: str) -> None:
    create = kafka_tool(
        settings,
        "kafka-topics",
        "--create",
        "--topic",
        unique_name,
        "--partitions",
        "1",
    )
    assert create.returncode == 0, create.stderr
    try:
        lines = [json.dumps({"n": n}) for n in range(5)]
        produce = kafka_tool(
            settings,
            "kafka-console-producer",
            "--topic",
            unique_name,
            input="\n".join(lines) + "\n",
        )
        assert produce.returncode == 0, produce.stderr
        consume = kafka_tool(
            settings,
            "kafka-console-consumer",
            "--topic",
            unique_name,
            "--from-beginning",
            "--max-messages",
            "5",
            "--timeout-ms",
            "20000",
        )
        assert consume.stdout.splitlines() == lines
    finally:
        kafka_tool(
            settings,
            "kafka-topics",
            "--delete",
            "--topic",
            unique_name,
        )


def test_object_store_has_the_lab_buckets_and_stores_objects(settings, unique_name) -> None:
    client = object_store_client(settings)
    assert client.bucket_exists(settings.raw_bucket)
    assert client.bucket_exists(settings.reports_bucket)
    key = f"tests/{unique_name}.txt"
    client.put_object(settings.raw_bucket, key, io.BytesIO(b"kafkalab"), length=8)
    try:
        assert client.get_object(settings.raw_bucket, key).read() == b"kafkalab"
    finally:
        client.remove_object(settings.raw_bucket, key)


def test_airflow_reports_every_component_healthy(settings) -> None:
    report = httpx.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=10).json()
    for component in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
        assert report[component]["status"] == "healthy", report


def test_airflow_api_accepts_the_documented_login(settings) -> None:
    token = httpx.post(
        f"{settings.airflow_url}/auth/token",
        json={"username": settings.airflow_user, "password": airflow_admin_password(settings)},
        timeout=10,
    )
    assert token.status_code in (200, 201), token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    version = httpx.get(f"{settings.airflow_url}/api/v2/version", headers=headers, timeout=10)
    assert version.json()["version"].startswith("3.")


@pytest.mark.parametrize("conn_id", ["kafka_default", "spark_default", "lab_object_store"])
def test_airflow_sees_the_lab_connections(conn_id: str) -> None:
    result = lab("airflow", "connections", "get", conn_id, "-o", "json")
    assert result.returncode == 0, result.stderr
    assert conn_id in result.stdout


def test_a_taken_port_is_named_with_its_service(settings) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        stack = Stack(settings.model_copy(update={"kafka_broker_port": port}))
        with pytest.raises(ServiceError, match=rf"port {port} \(kafka broker\).*already in use"):
            stack.check_ports(stack.service("kafka"))
