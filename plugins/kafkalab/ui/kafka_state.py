"""The facts the Kafka page shows, fetched from the broker through ``KafkaAdmin``.

Lag comes from ``KafkaAdmin.lag``, the call the lag sensor makes: the page and the
exercises cannot disagree about a group's lag.
"""

from __future__ import annotations

from dataclasses import dataclass

from confluent_kafka import KafkaException

from kafkalab.domain.lag import LagSnapshot
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.settings import LabSettings
from kafkalab.ui.model import GroupView, Member, PartitionRow, TopicRow, group_view


@dataclass(frozen=True)
class Broker:
    id: int
    address: str
    controller: bool


@dataclass(frozen=True)
class ClusterState:
    bootstrap: str
    brokers: list[Broker]
    topics: list[TopicRow]
    groups: list[GroupView]
    snapshots: list[LagSnapshot]


def _state_name(state: object) -> str:
    # ConsumerGroupState.STABLE -> "Stable", as kafka-consumer-groups prints it.
    return str(getattr(state, "name", state)).replace("_", " ").title()


def cluster_state(settings: LabSettings, include_internal: bool = False) -> ClusterState:
    # The API server is long-lived and threaded: close the client here rather than
    # leave it to the garbage collector (see KafkaAdmin.close).
    with KafkaAdmin(settings, timeout=10.0) as admin:
        return _read_cluster_state(admin, settings, include_internal)


def _read_cluster_state(
    admin: KafkaAdmin, settings: LabSettings, include_internal: bool
) -> ClusterState:
    metadata = admin.admin.list_topics(timeout=admin.timeout)
    brokers = [
        Broker(b.id, f"{b.host}:{b.port}", b.id == metadata.controller_id)
        for b in sorted(metadata.brokers.values(), key=lambda b: b.id)
    ]
    topics = []
    for name in sorted(metadata.topics):
        if name.startswith("__") and not include_internal:
            continue
        described = metadata.topics[name]
        try:
            ends = admin.end_offsets(name)
        except KafkaException:
            ends = {}  # deleted between the listing and this call
        topics.append(
            TopicRow(
                name,
                [
                    PartitionRow(p.id, p.leader, list(p.replicas), list(p.isrs), ends.get(p.id))
                    for p in sorted(described.partitions.values(), key=lambda p: p.id)
                ],
            )
        )
    groups, snapshots = [], []
    listing = admin.admin.list_consumer_groups(request_timeout=admin.timeout).result()
    names = sorted(g.group_id for g in listing.valid)
    described_groups = (
        admin.admin.describe_consumer_groups(names, request_timeout=admin.timeout) if names else {}
    )
    for name in names:
        state, members, error = "Unknown", [], ""
        try:
            description = described_groups[name].result()
            state = _state_name(description.state)
            members = [
                Member(
                    m.member_id,
                    m.client_id,
                    m.host,
                    [
                        f"{tp.topic}[{tp.partition}]"
                        for tp in (m.assignment.topic_partitions if m.assignment else [])
                    ],
                )
                for m in description.members
            ]
        except KafkaException as exc:
            error = f"describe failed: {exc}"
        snapshot = None
        try:
            snapshot = admin.lag(name)
            snapshots.append(snapshot)
        except KafkaException as exc:
            error = f"lag failed: {exc}"
        groups.append(group_view(name, state, members, snapshot, error))
    return ClusterState(settings.kafka_bootstrap, brokers, topics, groups, snapshots)
