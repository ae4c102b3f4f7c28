"""Reading a range of records back from Kafka, partition by partition."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from kafkalab.domain.offsets import Offsets
from kafkalab.kafka.client import ConnectionSource, consumer_config


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int


def read_between(
    connection: ConnectionSource,
    topic: str,
    start: Offsets,
    end: Offsets,
    timeout: float = 60.0,
) -> Iterator[Record]:
    """Every record with start[p] <= offset < end[p], partition by partition in order.

    Partitions missing from ``start`` are read from 0 (new partitions of an altered
    topic). Raises if the range cannot be read within ``timeout`` seconds of silence.
    """
    # Assigned partitions, never subscribed: the group id is only a label, nothing is
    # committed under it.
    consumer = Consumer(consumer_config(connection, "kafkalab-reader"))
    wanted = {p: (start.get(p, 0), stop) for p, stop in end.items() if stop > start.get(p, 0)}
    if not wanted:
        consumer.close()
        return
    try:
        consumer.assign([TopicPartition(topic, p, first) for p, (first, _) in wanted.items()])
        remaining = dict(wanted)
        last_progress = time.monotonic()
        while remaining:
            # consume() waits until it has num_messages or the timeout passed: keep the
            # timeout short and judge silence over the whole read instead.
            messages = consumer.consume(num_messages=5_000, timeout=0.5)
            if not messages:
                if time.monotonic() - last_progress > timeout:
                    missing = {p: f"{first}..{stop}" for p, (first, stop) in remaining.items()}
                    raise TimeoutError(
                        f"no records from {topic} for {timeout}s; still expected {missing}"
                    )
                continue
            last_progress = time.monotonic()
            for message in messages:
                if message.error() is not None:
                    raise KafkaException(message.error())
                partition, offset = message.partition(), message.offset()
                if partition not in remaining or offset >= remaining[partition][1]:
                    continue
                yield Record(
                    partition, offset, message.key(), message.value(), message.timestamp()[1]
                )
                if offset + 1 >= remaining[partition][1]:
                    del remaining[partition]
    finally:
        consumer.close()
