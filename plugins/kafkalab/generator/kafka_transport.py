"""Events straight to Kafka: a load test with no ingestor in the way.

An event counts as acknowledged when the broker acknowledged it (its delivery callback
came without an error), and as unacknowledged when the callback brought an error.

librdkafka's ``produce()`` only queues, but ``poll(timeout)`` and ``flush()`` block
until deliveries arrive; the waiting ones run in a worker thread so the event loop
(pacing, progress reports, a stop request) keeps going.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any, Protocol

from kafkalab.generator.config import GeneratorConfig
from kafkalab.generator.counts import RunCounts
from kafkalab.generator.events import GeneratedEvent
from kafkalab.kafka.client import producer_config

QUEUE_FULL_WAIT_SECONDS = 0.05
FLUSH_TIMEOUT_SECONDS = 60.0


class Producer(Protocol):
    """The part of ``confluent_kafka.Producer`` the transport uses."""

    def produce(self, topic: str, *, key: Any, value: Any, on_delivery: Callable) -> None: ...

    def poll(self, timeout: float) -> int: ...

    def flush(self, timeout: float) -> int: ...


class KafkaTransport:
    def __init__(self, config: GeneratorConfig, counts: RunCounts, producer: Producer) -> None:
        self.config = config
        self.counts = counts
        self.producer = producer
        # Filled by delivery callbacks, which run in whichever thread polls the producer;
        # emptied on the event loop, the only place counts change.
        self.deliveries: deque[tuple[str, int, bool]] = deque()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, config: GeneratorConfig, counts: RunCounts
    ) -> AsyncIterator[KafkaTransport]:
        from confluent_kafka import Producer

        transport = cls(config, counts, Producer(producer_config(config.bootstrap)))
        yield transport
        await transport.flush()

    async def send(self, batch: Sequence[GeneratedEvent]) -> None:
        for generated in batch:
            await self._produce(generated)
            # Serves delivery callbacks that are already due, without waiting.
            self.producer.poll(0)
        self._count_deliveries()

    async def flush(self) -> None:
        await asyncio.to_thread(self.producer.flush, FLUSH_TIMEOUT_SECONDS)
        self._count_deliveries()

    async def _produce(self, generated: GeneratedEvent) -> None:
        stream = generated.stream
        value = generated.to_json(dt.datetime.now(dt.UTC))
        on_delivery = self._on_delivery(stream.name, generated.sequence)
        while True:
            try:
                self.producer.produce(
                    self.config.topic_for(stream.name),
                    key=generated.key,
                    value=value,
                    on_delivery=on_delivery,
                )
                return
            except BufferError:
                # The local queue is full: wait for deliveries to make room.
                await asyncio.to_thread(self.producer.poll, QUEUE_FULL_WAIT_SECONDS)

    def _on_delivery(self, stream_name: str, sequence: int) -> Callable[[Any, Any], None]:
        def delivered(error: Any, message: Any) -> None:
            self.deliveries.append((stream_name, sequence, error is None))

        return delivered

    def _count_deliveries(self) -> None:
        while self.deliveries:
            stream_name, sequence, ok = self.deliveries.popleft()
            counts = self.counts[stream_name]
            if ok:
                counts.acknowledge((sequence,))
            else:
                counts.unacknowledged += 1
