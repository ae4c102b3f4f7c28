"""Where a run's events go: the ingestor over HTTP, or a Kafka topic directly.

A transport records each event's outcome in the run's :class:`RunCounts`; the runner
only hands it batches and, at the end, waits for it to close.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from kafkalab.generator.config import GeneratorConfig
from kafkalab.generator.counts import RunCounts
from kafkalab.generator.events import GeneratedEvent
from kafkalab.generator.http_transport import HttpTransport
from kafkalab.generator.kafka_transport import KafkaTransport


class Transport(Protocol):
    async def send(self, batch: Sequence[GeneratedEvent]) -> None:
        """Take one batch of one stream; may return before its outcome is known."""
        ...


@contextlib.asynccontextmanager
async def open_transport(config: GeneratorConfig, counts: RunCounts) -> AsyncIterator[Transport]:
    """The transport the config names; on exit every batch sent has its outcome counted."""
    transport_type = KafkaTransport if config.target == "kafka" else HttpTransport
    async with transport_type.open(config, counts) as transport:
        yield transport
