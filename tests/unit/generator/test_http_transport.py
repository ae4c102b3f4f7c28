"""Which ingestor answers are retried, how long the generator waits, what it times."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kafkalab.generator.config import GeneratorConfig
from kafkalab.generator.counts import RunCounts
from kafkalab.generator.events import EventFactory
from kafkalab.generator.http_transport import (
    MAX_BACKOFF_SECONDS,
    HttpTransport,
    backoff_seconds,
    outcome_of,
    published_ids,
)

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("status", [200, 201, 202, 207])
def test_2xx_acknowledges(status: int) -> None:
    assert outcome_of(status) == "acknowledged"


@pytest.mark.parametrize("status", [400, 404, 409, 413, 422])
def test_4xx_is_a_final_rejection(status: int) -> None:
    assert outcome_of(status) == "rejected"


@pytest.mark.parametrize("status", [503, 500, 502, 504, None], ids=str)
def test_503_other_5xx_and_no_answer_are_retried(status: int | None) -> None:
    assert outcome_of(status) == "retry"


def test_backoff_doubles_up_to_a_cap() -> None:
    waits = [backoff_seconds(attempt, None, jitter=1.0) for attempt in range(1, 10)]
    assert waits[:3] == pytest.approx([0.2, 0.4, 0.8])
    assert max(waits) == MAX_BACKOFF_SECONDS
    assert waits == sorted(waits)


def test_jitter_shortens_the_backoff() -> None:
    assert backoff_seconds(2, None, jitter=0.5) == pytest.approx(0.2)


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    assert backoff_seconds(1, 3.0, jitter=1.0) == 3.0
    assert backoff_seconds(1, 60.0, jitter=1.0) == MAX_BACKOFF_SECONDS


def test_a_partly_published_batch_confirms_its_published_ids() -> None:
    body = {
        "results": [
            {"id": "txn-r-000000000", "status": "published"},
            {"id": "txn-r-000000001", "status": "unavailable"},
        ]
    }
    assert published_ids(body) == {"txn-r-000000000"}
    assert published_ids({"detail": "Kafka unavailable"}) == set()
    assert published_ids(None) == set()


class ScriptedResponse:
    def __init__(self, status: int) -> None:
        self.status = status
        self.headers = {"Retry-After": "0"} if status == 503 else {}

    async def json(self, content_type: str | None = None, loads: Any = None) -> dict:
        return {"detail": "Kafka unavailable"} if self.status == 503 else {"status": "published"}


class ScriptedSession:
    """Answers each POST with the next status of its script."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses

    @contextlib.asynccontextmanager
    async def post(self, url: str, data: bytes, headers: dict) -> AsyncIterator[ScriptedResponse]:
        yield ScriptedResponse(self.statuses.pop(0))


def test_every_attempt_is_timed_as_a_request_of_its_own(monkeypatch) -> None:
    monkeypatch.setattr("kafkalab.generator.http_transport.backoff_seconds", lambda *_: 0.0)
    config = GeneratorConfig(run_id="r", start_time=START)
    counts = RunCounts()
    event = EventFactory(seed=1, run_id="r", start_time=START, financial_share=1.0).next()

    async def deliver() -> None:
        transport = HttpTransport(config, counts, ScriptedSession([503, 503, 200]))
        await transport.send([event])
        await asyncio.gather(*transport.in_flight)

    asyncio.run(deliver())
    assert counts["financial"].acknowledged == 1
    assert counts["financial"].retries == 2
    assert counts.request_latency.count == 3
