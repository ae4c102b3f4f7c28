"""Run a consumer group over a topic range and fingerprint what it saw.

The fan-out exercise runs several independent groups over the same range; equal
per-partition digests of the (offset, event id) sequence prove that every group saw
the same records in the same order, and the ids themselves (``keep_records``) are
compared with what the generator had acknowledged.

A run commits the position it actually reached on each partition (last record
processed + 1), never the target it was given: Kafka's record of the group then says
how far it really got. While it reads, it can sample another group's lag (``watch``):
those samples carry the reading window's own times, so "the Spark job kept up while
the new groups read" is measured over the reads, not over some later wait.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
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
    stop: int | None = None  # where this run stops reading; the target unless told otherwise
    count: int = 0
    position: int | None = None  # the next offset to read: what the run commits
    records: list[tuple[int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.stop is None:
            self.stop = self.target
        if self.position is None:
            self.position = self.start

    def add(self, offset: int, event_id: str) -> None:
        self.count += 1
        self.position = offset + 1
        if offset >= self.window_start:
            self.records.append((offset, event_id))

    def summary(self, keep_records: bool = False) -> dict[str, Any]:
        offsets = [offset for offset, _ in self.records]
        summary = {
            "from": self.start,
            "to": self.target,
            "count": self.count,
            "reached": self.position,
            "window_from": max(self.window_start, self.start),
            "window_count": len(self.records),
            "first_offset": min(offsets, default=None),
            "last_offset": max(offsets, default=None),
            "digest": sequence_digest(self.records),
        }
        if keep_records:
            summary["records"] = [[offset, event_id] for offset, event_id in self.records]
        return summary


@dataclass(frozen=True)
class Watch:
    """Sample ``group``'s total lag on ``topics`` every ``every`` seconds while reading."""

    group: str
    topics: Sequence[str]
    every: float = 1.0


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
    stop_at: Offsets | None = None,
    follow_seconds: float = 0.0,
    watch: Watch | None = None,
    keep_records: bool = False,
    resume: bool = False,
) -> dict[str, Any]:
    """Consume ``topic`` as ``group`` up to ``until`` (default: the current end offsets).

    With ``from_beginning`` the group is first pointed at the earliest retained
    offsets, so a re-run consumes the same range again; without it, and with a
    ``window_start``, at the window's start; without either, it resumes from its
    committed offsets, as it does with ``resume`` whatever the window. ``stop_at``
    stops the read earlier on the partitions it names (a consumer that stops
    mid-range); otherwise, ``follow_seconds`` keeps the group
    consuming past the target as a live consumer does (a console consumer stays
    attached), those records counted but not part of the sequences. The digests (and
    ``records``, with ``keep_records``) cover ``[window_start, until)``. Each partition's
    committed offset is the position the run reached. ``watch``: another group's lag,
    sampled at the start, while reading and at the end (``result["watched"]``).
    """
    admin = KafkaAdmin(connection)
    targets = {int(p): int(o) for p, o in (until or admin.end_offsets(topic)).items()}
    window_start = {int(p): int(o) for p, o in (window_start or {}).items()}
    stops = {p: min(t, int((stop_at or {}).get(p, t))) for p, t in targets.items()}
    stopped_early = any(stops[p] < targets[p] for p in targets)
    samples: list[list[float]] = []
    window_opened = time.time()

    def sample() -> None:
        if watch is not None:
            snapshot = admin.lag(watch.group, list(watch.topics))
            samples.append([round(snapshot.taken_at, 3), snapshot.total])

    sample()
    if resume:
        # A group picking up where it stopped: its committed offsets, whatever the window.
        starts = admin.committed_offsets(group, [topic]).get(topic, {})
    elif from_beginning:
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
            stop=stops[p],
        )
        for p, target in targets.items()
    }
    pending = {p for p, seq in sequences.items() if seq.position < seq.stop}
    # A consumer told to stop is stopped: it does not follow the topic afterwards.
    following = follow_seconds > 0 and not stopped_early
    followed = 0

    consumer = Consumer(
        consumer_config(
            connection, group, **{"auto.offset.reset": "earliest", "client.id": f"kafkalab-{group}"}
        )
    )
    started = time.monotonic()
    last_report = last_sample = started
    follow_until: float | None = None
    try:
        consumer.subscribe([topic])
        while True:
            if not pending:
                if not following:
                    break
                if follow_until is None:
                    follow_until = time.monotonic() + follow_seconds
                if time.monotonic() >= follow_until:
                    break
            elif time.monotonic() - started > timeout:
                missing = {
                    p: f"{sequences[p].count} of {sequences[p].stop - sequences[p].start}"
                    for p in sorted(pending)
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
                if sequence is None or offset < sequence.position:
                    # Not ours, or delivered again after a rebalance: processed already.
                    continue
                if offset >= sequence.stop:
                    if following:
                        # Past the target, read as a live consumer does: counted and
                        # committed as reached, outside the compared sequences.
                        followed += 1
                        sequence.position = offset + 1
                    continue
                sequence.add(offset, event_id_of(message.value()))
                if offset + 1 >= sequence.stop:
                    pending.discard(partition)
            now = time.monotonic()
            if watch is not None and now - last_sample >= watch.every:
                sample()
                last_sample = now
            if progress and now - last_report > 5:
                consumed = sum(s.count for s in sequences.values())
                progress(f"group {group}: {consumed} records, {len(pending)} partitions to go")
                last_report = now
        # The position reached, not the target: Kafka's record must say how far we got.
        consumer.commit(
            offsets=[TopicPartition(topic, p, s.position) for p, s in sequences.items()],
            asynchronous=False,
        )
    finally:
        consumer.close()
    sample()
    result: dict[str, Any] = {
        "group": group,
        "topic": topic,
        "consumed": sum(s.count for s in sequences.values()),
        "followed": followed,
        "stopped_early": stopped_early,
        "seconds": round(time.monotonic() - started, 3),
        "partitions": {str(p): s.summary(keep_records) for p, s in sorted(sequences.items())},
    }
    if watch is not None:
        result["watched"] = {
            "group": watch.group,
            "topics": list(watch.topics),
            "started_at": round(window_opened, 3),
            "ended_at": round(time.time(), 3),
            "samples": samples,
        }
    return result
