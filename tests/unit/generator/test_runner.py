"""The runner with a stand-in transport: batching per stream, counts, the status file."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from kafkalab.generator.config import GeneratorConfig
from kafkalab.generator.counts import RunCounts
from kafkalab.generator.events import GeneratedEvent
from kafkalab.generator.runner import GeneratorRun

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class AcknowledgingTransport:
    def __init__(self, counts: RunCounts) -> None:
        self.counts = counts
        self.batches: list[list[GeneratedEvent]] = []
        self.closed = False

    async def send(self, batch: Sequence[GeneratedEvent]) -> None:
        self.batches.append(list(batch))
        self.counts[batch[0].stream.name].acknowledge(g.sequence for g in batch)


def run_with_fake_transport(config: GeneratorConfig) -> tuple[dict, AcknowledgingTransport]:
    transports: list[AcknowledgingTransport] = []

    @contextlib.asynccontextmanager
    async def opener(config: GeneratorConfig, counts: RunCounts) -> AsyncIterator:
        transport = AcknowledgingTransport(counts)
        transports.append(transport)
        yield transport
        transport.closed = True

    summary = asyncio.run(GeneratorRun(config, transport=opener).run())
    return json.loads(summary.to_json()), transports[0]


def test_every_event_is_sent_once_in_batches_of_one_stream(tmp_path: Path) -> None:
    config = GeneratorConfig(
        run_id="r", count=101, batch_size=10, start_time=START, status_file=tmp_path / "s.json"
    )
    summary, transport = run_with_fake_transport(config)

    assert transport.closed
    assert all(len({g.stream.name for g in batch}) == 1 for batch in transport.batches)
    assert all(len(batch) <= 10 for batch in transport.batches)
    assert sum(len(batch) for batch in transport.batches) == 101
    assert (summary["state"], summary["sent"], summary["acknowledged"]) == ("finished", 101, 101)
    assert all(figures["contiguous"] for figures in summary["topics"].values())
    status = json.loads((tmp_path / "s.json").read_text())
    timings = ("elapsed_seconds", "events_per_second")
    assert {k: v for k, v in status.items() if k not in timings} == {
        k: v for k, v in summary.items() if k not in timings
    }


def test_a_failing_transport_fails_the_run_and_says_why(tmp_path: Path) -> None:
    @contextlib.asynccontextmanager
    async def broken(config: GeneratorConfig, counts: RunCounts) -> AsyncIterator:
        raise ConnectionError("no route to ingestor")
        yield

    config = GeneratorConfig(run_id="r", count=5, status_file=tmp_path / "s.json")
    run = GeneratorRun(config, transport=broken)
    with pytest.raises(ConnectionError):
        asyncio.run(run.run())
    status = json.loads((tmp_path / "s.json").read_text())
    assert status["state"] == "failed"
    assert status["errors"] == ["ConnectionError: no route to ingestor"]
