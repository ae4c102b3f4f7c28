"""The Kafka transport with a stand-in producer that blocks like librdkafka's.

``poll(timeout)`` and ``flush()`` block their caller until deliveries arrive; the
transport must wait for them off the event loop, and count an event as acknowledged only
when its delivery callback came without an error.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Awaitable, Callable

from kafkalab.generator.config import GeneratorConfig
from kafkalab.generator.counts import RunCounts
from kafkalab.generator.events import EventFactory, GeneratedEvent
from kafkalab.generator.kafka_transport import KafkaTransport

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class BlockingProducer:
    """Queues messages; delivers them, after blocking, in poll(timeout > 0) and flush()."""

    def __init__(self, queue_full_times: int = 0, flush_seconds: float = 0.0) -> None:
        self.queue_full_times = queue_full_times
        self.flush_seconds = flush_seconds
        self.failing_keys: set[str] = set()
        self.queued: list[tuple[str, str, Callable]] = []
        self.topics: list[str] = []
        self.lock = threading.Lock()

    def produce(self, topic: str, *, key, value, on_delivery) -> None:
        if self.queue_full_times:
            self.queue_full_times -= 1
            raise BufferError("Local: Queue full")
        with self.lock:
            self.queued.append((topic, key, on_delivery))

    def poll(self, timeout: float) -> int:
        if timeout > 0:
            time.sleep(timeout)
            return self._deliver()
        return 0

    def flush(self, timeout: float) -> int:
        time.sleep(self.flush_seconds)
        self._deliver()
        return 0

    def _deliver(self) -> int:
        with self.lock:
            queued, self.queued = self.queued, []
        for topic, key, on_delivery in queued:
            self.topics.append(topic)
            error = "broker down" if key in self.failing_keys else None
            on_delivery(error, None)
        return len(queued)


def generated_events(n: int, financial_share: float = 0.5) -> list[GeneratedEvent]:
    factory = EventFactory(seed=1, run_id="r", start_time=START, financial_share=financial_share)
    return [factory.next() for _ in range(n)]


async def loop_ticks_while(work: Awaitable[None]) -> int:
    """How often a 10 ms ticker ran on the event loop while ``work`` was still going."""
    done = asyncio.Event()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.01)
            ticks += not done.is_set()

    async def run_work() -> None:
        await work
        done.set()

    await asyncio.gather(ticker(), run_work())
    return ticks


def test_flush_waits_off_the_event_loop_and_counts_deliveries() -> None:
    producer = BlockingProducer(flush_seconds=0.3)
    counts = RunCounts()
    transport = KafkaTransport(GeneratorConfig(target="kafka"), counts, producer)
    events = generated_events(20)

    async def scenario() -> int:
        await transport.send(events)
        return await loop_ticks_while(transport.flush())

    assert asyncio.run(scenario()) >= 10
    acknowledged = counts["financial"].acknowledged + counts["insurance"].acknowledged
    assert acknowledged == 20
    for name in ("financial", "insurance"):
        expected = [g.sequence for g in events if g.stream.name == name]
        assert sorted(counts[name].acknowledged_sequences) == expected


def test_a_full_queue_is_waited_out_off_the_event_loop() -> None:
    producer = BlockingProducer(queue_full_times=4)
    transport = KafkaTransport(GeneratorConfig(target="kafka"), RunCounts(), producer)
    [event] = generated_events(1)

    ticks = asyncio.run(loop_ticks_while(transport.send([event])))

    # Four polls of 50 ms each: a blocked loop would not have ticked at all.
    assert ticks >= 8
    assert len(producer.queued) == 1


def test_a_delivery_error_counts_as_unacknowledged() -> None:
    producer = BlockingProducer()
    counts = RunCounts()
    transport = KafkaTransport(GeneratorConfig(target="kafka"), counts, producer)
    events = generated_events(10, financial_share=1.0)
    producer.failing_keys = {events[3].key}
    failing = sum(g.key == events[3].key for g in events)

    async def scenario() -> None:
        await transport.send(events)
        await transport.flush()

    asyncio.run(scenario())
    assert counts["financial"].unacknowledged == failing
    assert counts["financial"].acknowledged == 10 - failing


def test_events_go_to_the_configured_topic_of_their_stream() -> None:
    producer = BlockingProducer()
    config = GeneratorConfig(target="kafka", topics={"financial": "scaling_t"})
    transport = KafkaTransport(config, RunCounts(), producer)
    events = generated_events(30)

    async def scenario() -> None:
        await transport.send(events)
        await transport.flush()

    asyncio.run(scenario())
    assert producer.topics == [
        "scaling_t" if g.stream.name == "financial" else g.stream.topic for g in events
    ]
