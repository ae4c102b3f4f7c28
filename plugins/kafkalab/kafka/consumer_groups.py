"""Run a consumer group over a topic range and fingerprint what it saw.

The fan-out exercise runs several independent groups over the same range; equal
per-partition digests of the (offset, event id) sequence prove that every group saw
the same records in the same order.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaException, TopicPartition

from kafkalab.domain.offsets import Offsets
from kafkalab.domain.reconcile import sequence_digest
from kafkalab.domain.schemas import STREAMS
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.kafka.client import ConnectionSource, consumer_config

ID_FIELDS = tuple(stream.id_field for stream in STREAMS.values())


def event_id_of(value: bytes | None) -> str:
    """The event id in a record value, or a stand-in that still identifies the bytes."""
    if value is None:
        return "<tombstone>"
    try:
        document = json.loads(value)
    except ValueError:
        document = None
    if isinstance(document, dict):
        for id_field in ID_FIELDS:
            if isinstance(document.get(id_field), str):
                return document[id_field]
    return f"<unparsed:{len(value)} bytes>"


@dataclass
class PartitionSequence:
    start: int
    target: int
    window_start: int = 0
    count: int = 0
    records: list[tuple[int, str]] = field(default_factory=list)

    def add(self, offset: int, event_id: str) -> None:
        self.count += 1
        if offset >= self.window_start:
            self.records.append((offset, event_id))

    def summary(self) -> dict[str, Any]:
        offsets = [offset for offset, _ in self.records]
        return {
            "from": self.start,
            "to": self.target,
            "count": self.count,
            "window_from": max(self.window_start, self.start),
            "window_count": len(self.records),
            "first_offset": min(offsets, default=None),
            "last_offset": max(offsets, default=None),
            "digest": sequence_digest(self.records),
        }


class ConsumerRunTimeout(TimeoutError):
    pass


def run_consumer_group(
    connection: ConnectionSource,
    group: str,
    topic: str,
    until: Offsets | None = None,
    from_beginning: bool = True,
    timeout: float = 300.0,
    progress: Callable[[str], None] | None = None,
    window_start: Offsets | None = None,
) -> dict[str, Any]:
    """Consume ``topic`` as ``group`` up to ``until`` (default: the current end offsets).

    With ``from_beginning`` the group is first pointed at the earliest retained
    offsets, so a re-run consumes the same range again. Offsets are committed at the
    targets, so the group's lag afterwards is what arrived since. The digests cover
    ``[window_start, until)`` (default: everything consumed), so consumers that began
    at different points can be compared on the range they share.
    """
    admin = KafkaAdmin(connection)
    targets = {int(p): int(o) for p, o in (until or admin.end_offsets(topic)).items()}
    window_start = {int(p): int(o) for p, o in (window_start or {}).items()}
    if from_beginning:
        starts = admin.reset_group_to_earliest(group, topic)
    elif window_start:
        # Read just the window: the group starts where the window does.
        starts = admin.reset_group_to_offsets(group, topic, window_start)
    else:
        starts = admin.committed_offsets(group, [topic]).get(topic, {})
    earliest = admin.earliest_offsets(topic)
    sequences = {
        p: PartitionSequence(
            start=starts.get(p, earliest.get(p, 0)),
            target=target,
            window_start=window_start.get(p, 0),
        )
        for p, target in targets.items()
    }
    pending = {p for p, seq in sequences.items() if seq.start < seq.target}

    consumer = Consumer(
        consumer_config(
            connection, group, **{"auto.offset.reset": "earliest", "client.id": f"kafkalab-{group}"}
        )
    )
    started = time.monotonic()
    last_report = started
    try:
        consumer.subscribe([topic])
        while pending:
            if time.monotonic() - started > timeout:
                missing = {
                    p: f"{len(sequences[p].records)} of {sequences[p].target - sequences[p].start}"
                    for p in pending
                }
                raise ConsumerRunTimeout(
                    f"group {group} did not reach the target offsets of {topic} within "
                    f"{timeout:.0f}s; records consumed per unfinished partition: {missing}"
                )
            for message in consumer.consume(num_messages=2000, timeout=0.5):
                if message.error() is not None:
                    raise KafkaException(message.error())
                partition, offset = message.partition(), message.offset()
                sequence = sequences.get(partition)
                if sequence is None or offset >= sequence.target:
                    continue
                sequence.add(offset, event_id_of(message.value()))
                if offset + 1 >= sequence.target:
                    pending.discard(partition)
            if progress and time.monotonic() - last_report > 5:
                consumed = sum(s.count for s in sequences.values())
                progress(f"group {group}: {consumed} records, {len(pending)} partitions to go")
                last_report = time.monotonic()
        consumer.commit(
            offsets=[TopicPartition(topic, p, s.target) for p, s in sequences.items()],
            asynchronous=False,
        )
    finally:
        consumer.close()
    return {
        "group": group,
        "topic": topic,
        "consumed": sum(s.count for s in sequences.values()),
        "seconds": round(time.monotonic() - started, 3),
        "partitions": {str(p): s.summary() for p, s in sorted(sequences.items())},
    }
