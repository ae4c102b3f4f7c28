"""Publishing to Kafka from asyncio, answering only once the broker has acknowledged."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple

from confluent_kafka import KafkaError, Producer

from kafkalab.kafka.client import ConnectionSource, connection_config, producer_config

log = logging.getLogger("kafkalab.ingestor")


class Delivery(NamedTuple):
    """Where the broker stored a record. A tuple: one is made per record acknowledged."""

    topic: str
    partition: int
    offset: int


class PublishError(Exception):
    """The broker did not acknowledge the record; the client should retry."""


class BrokerUnavailable(PublishError):
    pass


class KafkaPublisher:
    """A confluent-kafka producer shared by all requests.

    librdkafka batches records from concurrent requests (``linger.ms``); a poller thread
    serves the delivery reports and hands each one to the waiting request's future.
    """

    def __init__(self, connection: ConnectionSource, delivery_timeout_ms: int = 10_000) -> None:
        self.connection = connection_config(connection)
        self.bootstrap = self.connection["bootstrap.servers"]
        self.delivery_timeout_ms = delivery_timeout_ms
        self._broker_up = True
        self._down_since: float | None = None
        self._fatal: KafkaError | None = None
        self._running = True
        self.producer = self._new_producer()
        self._poller = threading.Thread(target=self._poll_forever, name="kafka-poller", daemon=True)
        self._poller.start()

    def _new_producer(self) -> Producer:
        extra = {
            # A record the broker has not acknowledged by then fails its request with
            # 503, and the client retries: never an open-ended wait, never a drop.
            "message.timeout.ms": self.delivery_timeout_ms,
            # Broker state for /health and the 503 fast path, from librdkafka's callbacks.
            "statistics.interval.ms": 1000,
            "stats_cb": self._on_stats,
            "error_cb": self._on_error,
        }
        return Producer(producer_config(self.connection, **extra))

    # --- broker state, from librdkafka's callbacks (poller thread) ----------------------

    def _on_error(self, error: KafkaError) -> None:
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            if self._broker_up:
                log.warning("all brokers down: answering 503 until one is back")
            self._broker_up = False
            self._down_since = self._down_since or time.monotonic()
        elif error.fatal():
            log.error("fatal producer error, a new producer will be created: %s", error)
            self._fatal = error
        else:
            log.info("producer: %s", error)

    def _on_stats(self, stats_json: str) -> None:
        brokers = json.loads(stats_json).get("brokers", {})
        up = any(b.get("state") == "UP" for b in brokers.values() if b.get("nodeid", -1) >= 0)
        if up and not self._broker_up:
            log.warning("broker reachable again")
        self._broker_up = up or not brokers
        self._down_since = None if self._broker_up else (self._down_since or time.monotonic())

    def _poll_forever(self) -> None:
        while self._running:
            self.producer.poll(0.05)
            if self._fatal is not None:
                old, self.producer, self._fatal = self.producer, self._new_producer(), None
                with contextlib.suppress(Exception):
                    old.flush(1)

    # --- publishing (event loop) ----------------------------------------------------------

    @property
    def broker_available(self) -> bool:
        return self._broker_up

    def publish_many(
        self, topic: str, records: list[tuple[str, bytes]]
    ) -> asyncio.Future[list[Delivery | PublishError]]:
        """Produce records; the future resolves once every one has a delivery report.

        One future per request rather than per record: waking the event loop from the
        poller thread once per batch keeps batch requests cheap.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Delivery | PublishError]] = loop.create_future()
        outcomes: list[Delivery | PublishError | None] = [None] * len(records)
        remaining = len(records)

        def reporter(index: int):
            def on_delivery(error: KafkaError | None, message) -> None:
                # Runs on the poller thread only: no lock needed for `remaining`.
                nonlocal remaining
                outcomes[index] = (
                    Delivery(message.topic(), message.partition(), message.offset())
                    if error is None
                    else PublishError(str(error))
                )
                remaining -= 1
                if remaining == 0:
                    loop.call_soon_threadsafe(_resolve, future, outcomes)

            return on_delivery

        for index, (key, value) in enumerate(records):
            while True:
                try:
                    self.producer.produce(topic, value=value, key=key, on_delivery=reporter(index))
                    break
                except BufferError:
                    # Local queue full: the poller thread drains it; wait briefly.
                    time.sleep(0.001)
        return future

    def health(self, timeout: float = 2.0) -> tuple[bool, str]:
        try:
            metadata = self.producer.list_topics(timeout=timeout)
        except Exception as exc:
            return False, f"no metadata from {self.bootstrap}: {exc}"
        return True, f"{len(metadata.brokers)} broker(s) at {self.bootstrap}"

    def close(self, timeout: float = 10.0) -> None:
        self._running = False
        self._poller.join(timeout=2)
        self.producer.flush(timeout)


def _resolve(future: asyncio.Future, outcomes: list) -> None:
    if not future.done():
        future.set_result(outcomes)


class RecentDeliveries:
    """Event id -> delivery for recently acknowledged events: the idempotency key.

    A client that lost our answer retries with the same id; it gets the original
    delivery instead of a second copy in Kafka. Requests that carry an id already in
    flight wait for that publish instead of starting another.
    """

    def __init__(self, capacity: int = 200_000) -> None:
        self.capacity = capacity
        self._done: OrderedDict[str, Delivery] = OrderedDict()
        self._inflight: dict[str, InFlight] = {}

    def get(self, event_id: str) -> Delivery | InFlight | None:
        return self._done.get(event_id) or self._inflight.get(event_id)

    def begin(self, event_id: str, in_flight: InFlight) -> None:
        self._inflight[event_id] = in_flight

    def finish(self, event_id: str, outcome: Delivery | PublishError) -> None:
        self._inflight.pop(event_id, None)
        if isinstance(outcome, Delivery):
            self._done[event_id] = outcome
            if len(self._done) > self.capacity:
                self._done.popitem(last=False)


@dataclass(frozen=True)
class InFlight:
    """Where an event's outcome will appear: position ``index`` of ``future``'s result."""

    future: asyncio.Future[list[Delivery | PublishError]]
    index: int

    async def outcome(self) -> Delivery | PublishError:
        # Shielded: a request that goes away must not cancel a publish other requests
        # (same batch, same ids) wait for. Settled futures, the common case after the
        # first event of a batch, are read without a wait.
        if not self.future.done():
            await asyncio.shield(self.future)
        return self.future.result()[self.index]
