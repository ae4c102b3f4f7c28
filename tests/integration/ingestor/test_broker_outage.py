"""With the broker down the ingestor answers 503; after a restart nothing acknowledged is lost.

This test stops and restarts the stack's own Kafka brokers (every node of a
`./lab up --brokers 3` cluster); it always restarts them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import httpx

from kafkalab.domain.schemas import FINANCIAL, STREAMS
from kafkalab.generator.background import (
    background_status,
    start_background_run,
    stop_background_run,
)
from kafkalab.generator.config import GeneratorConfig
from kafkalab.lab.stack.lifecycle import KAFKA_NODE_SERVICE, Stack
from tests.support.events import LAB_GUIDE_TRANSACTION
from tests.support.kafka import ids_of_run, snapshot


@contextlib.contextmanager
def broker_down(stack: Stack) -> Iterator[None]:
    nodes = [s for s in stack.services if KAFKA_NODE_SERVICE.match(s.name)]
    for node in nodes:
        stack.registry.stop(node.name)
    try:
        yield
    finally:
        # All started before any is waited for: a KRaft node is not ready until a
        # majority of the controller quorum is up.
        for node in nodes:
            stack.start(node)
        for node in nodes:
            stack.wait_healthy(node)


def post_until_503(url: str, event: dict, within_s: float = 60) -> httpx.Response:
    # The ingestor learns of the outage from librdkafka within a few seconds.
    deadline = time.monotonic() + within_s
    while True:
        response = httpx.post(url, json=event, timeout=30)
        if response.status_code == 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.5)


def test_outage_gets_503_and_the_generator_loses_nothing(settings, unique_name) -> None:
    stack = Stack(settings)
    before = snapshot(settings)
    with broker_down(stack):
        event = {**LAB_GUIDE_TRANSACTION, "transaction_id": f"{unique_name}-probe"}
        response = post_until_503(settings.ingestor_url + FINANCIAL.path, event)
        assert response.status_code == 503, response.text
        assert response.headers.get("Retry-After")
        health = httpx.get(settings.ingestor_url + "/health", timeout=30)
        assert health.status_code == 503

        start_background_run(
            settings,
            unique_name,
            GeneratorConfig(ingestor_url=settings.ingestor_url, count=300, rate=100, batch_size=10),
        )
        time.sleep(4)
        during = background_status(settings, unique_name).summary
        assert during["acknowledged"] == 0, "events acknowledged while the broker was down"
        assert during["retries"] > 0

    deadline = time.monotonic() + 180
    while background_status(settings, unique_name).running and time.monotonic() < deadline:
        time.sleep(1)
    final = stop_background_run(settings, unique_name).summary
    assert final["acknowledged"] == 300 and final["unacknowledged"] == 0, final

    seen = ids_of_run(settings, before, snapshot(settings), unique_name)
    for stream in STREAMS.values():
        acknowledged = final["topics"][stream.topic]["acknowledged"]
        copies = {i: n for i, n in seen[stream.topic].items() if n > 1}
        assert copies == {}, f"{stream.topic}: events published more than once: {copies}"
        assert len(seen[stream.topic]) == acknowledged, (
            f"{stream.topic}: acknowledged events missing"
        )
