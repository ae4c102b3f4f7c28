"""The one way the lab commits a group's offsets, against a stand-in admin client."""

from __future__ import annotations

from concurrent.futures import Future
from types import SimpleNamespace

import pytest

from kafkalab.kafka.admin import OffsetCommitRefused, commit_group_offsets


class RecordingAdmin:
    """Answers alter_consumer_group_offsets like AdminClient: one future per group."""

    def __init__(self, errors: dict[int, str] | None = None) -> None:
        self.errors = errors or {}
        self.requests: list = []

    def alter_consumer_group_offsets(self, request, request_timeout: float):
        self.requests.append((request, request_timeout))
        [group_request] = request
        stored = SimpleNamespace(
            group_id=group_request.group_id,
            topic_partitions=[
                SimpleNamespace(
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=tp.offset,
                    error=self.errors.get(tp.partition),
                )
                for tp in group_request.topic_partitions
            ],
        )
        future: Future = Future()
        future.set_result(stored)
        return {group_request.group_id: future}


def test_commits_every_partition_in_one_request() -> None:
    admin = RecordingAdmin()
    committed = commit_group_offsets(admin, "g", "t", {1: 20, 0: 10}, timeout=5.0)
    assert committed == {1: 20, 0: 10}
    [(request, timeout)] = admin.requests
    [group_request] = request
    assert group_request.group_id == "g" and timeout == 5.0
    assert [(tp.topic, tp.partition, tp.offset) for tp in group_request.topic_partitions] == [
        ("t", 0, 10),
        ("t", 1, 20),
    ]


def test_a_partition_the_broker_refused_raises_and_names_it() -> None:
    admin = RecordingAdmin(errors={1: "UNKNOWN_TOPIC_OR_PART"})
    with pytest.raises(OffsetCommitRefused, match=r"group g: .* of t .*1: 'UNKNOWN_TOPIC_OR_PART'"):
        commit_group_offsets(admin, "g", "t", {0: 10, 1: 20})


def test_nothing_to_commit_sends_nothing() -> None:
    admin = RecordingAdmin()
    assert commit_group_offsets(admin, "g", "t", {}) == {}
    assert admin.requests == []
