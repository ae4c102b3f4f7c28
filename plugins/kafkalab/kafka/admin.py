"""Kafka administration the exercises need and the Airflow provider lacks.

Topics (ensure, describe, alter partitions and configs), offsets (earliest, end,
committed by a group) and consumer lag, over a confluent-kafka ``AdminClient``. No
Airflow import: the Airflow hook hands its connection's config in, `./lab lag`
passes the lab's settings.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)

from kafkalab.domain.cluster import PartitionState
from kafkalab.domain.lag import LagSnapshot, compute_lag
from kafkalab.domain.offsets import Offsets
from kafkalab.domain.topics import TopicSpec
from kafkalab.kafka.client import ConnectionSource, admin_config, consumer_config
from kafkalab.kafka.errors import transient_error


class UnknownTopic(LookupError):
    """A topic an exercise names does not exist."""


class PartitionDecreaseRefused(ValueError):
    """Kafka can only add partitions; asking for fewer is a misconfigured exercise."""


class OffsetCommitRefused(RuntimeError):
    """The broker did not store a group's offset for one or more partitions."""


class ConfigNotApplied(RuntimeError):
    """Kafka accepted a topic config change that the brokers never came to show."""


def commit_group_offsets(
    admin: AdminClient,
    group: str,
    topic: str,
    offsets: Mapping[int, int],
    timeout: float = 30.0,
) -> Offsets:
    """Store ``offsets`` as ``group``'s committed positions on ``topic``; return them.

    Through the admin API, as `kafka-consumer-groups --reset-offsets` does: nobody has
    to join the group, but the group must have no active members, or the broker
    refuses. A refusal of any single partition raises, naming each partition's error.
    """
    partitions = [TopicPartition(topic, p, o) for p, o in sorted(offsets.items())]
    if not partitions:
        return {}
    request = [ConsumerGroupTopicPartitions(group, partitions)]
    stored = admin.alter_consumer_group_offsets(request, request_timeout=timeout)[group].result()
    refused = {
        tp.partition: str(tp.error) for tp in stored.topic_partitions or [] if tp.error is not None
    }
    if refused:
        raise OffsetCommitRefused(
            f"group {group}: the broker did not store the offsets of {topic} "
            f"for partitions {refused}"
        )
    return dict(offsets)


@dataclass(frozen=True)
class TopicDescription:
    name: str
    partitions: int
    replication_factor: int
    configs: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class KafkaAdmin:
    def __init__(self, connection: ConnectionSource, timeout: float = 30.0) -> None:
        self.config = admin_config(connection)
        self.timeout = timeout
        # A client id makes the lab's admin calls recognisable in broker logs.
        self.admin = AdminClient({**self.config, "client.id": "kafkalab-admin"})

    def close(self) -> None:
        """Destroy the client here and now.

        Left to the garbage collector, an AdminClient can be destroyed on whichever
        thread the collector runs, librdkafka's own among them (a Python callback of
        an admin future runs there), and librdkafka aborts the process when a client is
        destroyed from its own thread (confluent-kafka-python #1761, #2129).
        """
        admin, self.admin = self.admin, None
        if admin is not None:
            admin.__exit__(None, None, None)

    def __enter__(self) -> KafkaAdmin:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- topics ---------------------------------------------------------------------------

    def topic_partitions(self, topic: str) -> list[int]:
        metadata = self.admin.list_topics(topic, timeout=self.timeout)
        described = metadata.topics.get(topic)
        if described is None or described.error is not None:
            known = sorted(
                t
                for t in self.admin.list_topics(timeout=self.timeout).topics
                if not t.startswith("__")
            )
            raise UnknownTopic(
                f"topic {topic!r} does not exist on {self.config.get('bootstrap.servers')}; "
                f"existing topics: {', '.join(known) or '(none)'}"
            )
        return sorted(described.partitions)

    def partition_states(self, topic: str) -> list[PartitionState]:
        """Each partition's leader, replicas and in-sync replicas, as the cluster reports them."""
        metadata = self.admin.list_topics(topic, timeout=self.timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            self.topic_partitions(topic)  # raises UnknownTopic with the known topics
        return [
            PartitionState(p.id, p.leader, tuple(p.replicas), tuple(p.isrs))
            for p in sorted(metadata.partitions.values(), key=lambda p: p.id)
        ]

    def elect_unclean_leaders(self, topic: str, partitions: list[int]) -> None:
        """Let any live replica lead ``partitions``, in sync or not (`kafka-leader-election
        --election-type unclean`): the way back for a partition whose every in-sync
        replica is gone, at the price of what those replicas alone had."""
        from confluent_kafka import ElectionType

        requested = [TopicPartition(topic, p) for p in partitions]
        # Without timeout arguments: confluent-kafka 2.16's binding rejects them here.
        results = self.admin.elect_leaders(ElectionType.UNCLEAN, requested).result(self.timeout)
        refused = {tp.partition: str(error) for tp, error in results.items() if error is not None}
        if refused:
            raise KafkaException(f"{topic}: unclean leader election refused: {refused}")

    def broker_ids(self) -> list[int]:
        """The brokers registered with the cluster now (a fenced one is not among them)."""
        return sorted(self.admin.list_topics(timeout=self.timeout).brokers)

    def describe_topic(self, topic: str) -> TopicDescription:
        metadata = self.admin.list_topics(topic, timeout=self.timeout).topics.get(topic)
        if metadata is None or metadata.error is not None:
            self.topic_partitions(topic)  # raises UnknownTopic with the known topics
        resource = ConfigResource(ConfigResource.Type.TOPIC, topic)
        entries = self.admin.describe_configs([resource], request_timeout=self.timeout)[
            resource
        ].result()
        configs = {
            name: entry.value
            for name, entry in entries.items()
            if not entry.is_default and entry.value is not None
        }
        replication = max((len(p.replicas) for p in metadata.partitions.values()), default=0)
        return TopicDescription(topic, len(metadata.partitions), replication, configs)

    def ensure_topic(self, spec: TopicSpec) -> str:
        """Create the topic if missing. An existing topic keeps its data and partitions."""
        try:
            current = len(self.topic_partitions(spec.name))
        except UnknownTopic:
            new = NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                # -1: the broker's default.replication.factor, which follows the cluster.
                replication_factor=spec.replication_factor or -1,
                config=spec.configs,
            )
            try:
                self.admin.create_topics([new], request_timeout=self.timeout)[spec.name].result()
            except KafkaException as exc:
                # Another task created it between our look and our create: that is fine.
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
            return f"created with {spec.partitions} partitions"
        return f"exists with {current} partitions"

    def alter_partitions(self, topic: str, partitions: int) -> str:
        current = len(self.topic_partitions(topic))
        if partitions < current:
            raise PartitionDecreaseRefused(
                f"topic {topic!r} has {current} partitions; Kafka cannot decrease that to "
                f"{partitions} (only add partitions, or create a new topic and re-ingest)"
            )
        if partitions == current:
            return f"already has {current} partitions"
        self.admin.create_partitions(
            [NewPartitions(topic, partitions)], request_timeout=self.timeout
        )[topic].result()
        # Metadata reaches the broker's caches a moment after the call returns.
        deadline = time.monotonic() + self.timeout
        while len(self.topic_partitions(topic)) < partitions and time.monotonic() < deadline:
            time.sleep(0.2)
        return f"increased from {current} to {partitions} partitions"

    def alter_configs(self, topic: str, configs: dict[str, str]) -> dict[str, str]:
        self.topic_partitions(topic)
        resource = ConfigResource(
            ConfigResource.Type.TOPIC,
            topic,
            incremental_configs=[
                ConfigEntry(name, str(value), incremental_operation=AlterConfigOpType.SET)
                for name, value in configs.items()
            ],
        )
        self.admin.incremental_alter_configs([resource], request_timeout=self.timeout)[
            resource
        ].result()
        # The controller acknowledges the change once it is in the metadata log; the
        # broker answering DescribeConfigs shows it only after replaying that record,
        # so a describe straight after the alter can still read the old configs.
        deadline = time.monotonic() + self.timeout
        while True:
            current = self.describe_topic(topic).configs
            pending = {k: v for k, v in configs.items() if current.get(k) != str(v)}
            if not pending:
                return current
            if time.monotonic() > deadline:
                raise ConfigNotApplied(
                    f"topic {topic}: Kafka accepted {pending} but after {self.timeout:.0f}s "
                    f"its configs still read {current}"
                )
            time.sleep(0.2)

    # --- offsets ----------------------------------------------------------------------------

    def _list_offsets(self, topic: str, spec: OffsetSpec) -> Offsets:
        """Asked again while leadership moves, for up to ``timeout`` seconds.

        Right after a broker is lost, a partition's new leader answers before every
        client's metadata knows it: the request meets NOT_LEADER_OR_FOLLOWER or
        UNKNOWN_LEADER_EPOCH, and a task snapshotting offsets then must not fail.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            request = {TopicPartition(topic, p): spec for p in self.topic_partitions(topic)}
            try:
                results = self.admin.list_offsets(request, request_timeout=self.timeout)
                return {tp.partition: future.result().offset for tp, future in results.items()}
            except KafkaException as exc:
                if transient_error(exc) is None or time.monotonic() > deadline:
                    raise
            time.sleep(0.5)

    def end_offsets(self, topic: str) -> Offsets:
        return self._list_offsets(topic, OffsetSpec.latest())

    def earliest_offsets(self, topic: str) -> Offsets:
        return self._list_offsets(topic, OffsetSpec.earliest())

    def committed_offsets(self, group: str, topics: list[str] | None = None) -> dict[str, Offsets]:
        """topic -> partition -> committed offset; partitions never committed are absent.

        ``topics`` defaults to every topic but Kafka's internal ones. Asked through a
        consumer of the group, not the admin API: librdkafka's ListConsumerGroupOffsets
        crashes the process (SIGSEGV) when a broker answers NOT_COORDINATOR, as brokers
        do while the group's coordinator moves on a cluster whose brokers just started
        or restarted (librdkafka #5040). A consumer raises it as a KafkaException
        (NOT_COORDINATOR), which the lab's triggers count as "not yet". It never
        subscribes, so it does not join the group.
        """
        metadata = self.admin.list_topics(timeout=self.timeout).topics
        wanted = topics or [t for t in metadata if not t.startswith("__")]
        partitions = [
            TopicPartition(topic, partition)
            for topic in sorted(wanted)
            if topic in metadata and metadata[topic].error is None
            for partition in sorted(metadata[topic].partitions)
        ]
        if not partitions:
            return {}
        consumer = Consumer(consumer_config(self.config, group))
        try:
            found = consumer.committed(partitions, timeout=self.timeout)
        finally:
            consumer.close()
        committed: dict[str, Offsets] = {}
        for tp in found:
            if tp.error is not None:
                raise KafkaException(tp.error)
            if tp.offset >= 0:
                committed.setdefault(tp.topic, {})[tp.partition] = tp.offset
        return committed

    def reset_group_to_earliest(self, group: str, topic: str) -> Offsets:
        """Point a (memberless) group at the earliest retained offsets: "from the beginning"."""
        return self.reset_group_to_offsets(group, topic, self.earliest_offsets(topic))

    def reset_group_to_offsets(self, group: str, topic: str, offsets: Offsets) -> Offsets:
        return commit_group_offsets(self.admin, group, topic, offsets, self.timeout)

    def consumer_groups(self) -> list[str]:
        listing = self.admin.list_consumer_groups(request_timeout=self.timeout).result()
        return sorted(g.group_id for g in listing.valid)

    # --- lag ----------------------------------------------------------------------------------

    def lag(
        self, group: str, topics: list[str] | None = None, with_time_lag: bool = False
    ) -> LagSnapshot:
        """The group's lag on ``topics`` (default: every topic it committed on)."""
        committed = self.committed_offsets(group, topics)
        topics = topics or sorted(committed)
        end: dict[tuple[str, int], int] = {}
        earliest: dict[tuple[str, int], int] = {}
        for topic in topics:
            for partition, offset in self.end_offsets(topic).items():
                end[(topic, partition)] = offset
            for partition, offset in self.earliest_offsets(topic).items():
                earliest[(topic, partition)] = offset
        flat = {(t, p): o for t, offsets in committed.items() for p, o in offsets.items()}
        snapshot = compute_lag(group, end, flat, earliest)
        if with_time_lag:
            snapshot = self._with_time_lag(snapshot)
        return snapshot

    def _with_time_lag(self, snapshot: LagSnapshot) -> LagSnapshot:
        """Seconds between now and the timestamp of each partition's first unconsumed record."""
        consumer = Consumer(consumer_config(self.config, "kafkalab-time-lag"))
        partitions = []
        try:
            for p in snapshot.partitions:
                seconds = 0.0
                if p.lag > 0:
                    start = (
                        p.committed_offset if p.committed_offset is not None else p.earliest_offset
                    )
                    consumer.assign([TopicPartition(p.topic, p.partition, start)])
                    message = consumer.poll(5.0)
                    if message is not None and message.error() is None:
                        seconds = max(0.0, time.time() - message.timestamp()[1] / 1000)
                partitions.append(replace(p, time_lag_seconds=round(seconds, 3)))
        finally:
            consumer.close()
        return replace(snapshot, partitions=partitions)
