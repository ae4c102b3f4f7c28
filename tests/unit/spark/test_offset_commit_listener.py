"""The streaming job's listener commits each batch's end offsets, and retries a refusal."""

from __future__ import annotations

import json
from types import SimpleNamespace

from kafkalab.spark.driver import make_offset_commit_listener


class Broker:
    """Stands in for the group's coordinator: refuses the first ``refusals`` commits."""

    def __init__(self, refusals: int = 0) -> None:
        self.refusals = refusals
        self.committed: list[dict[str, dict[int, int]]] = []

    def __call__(self, bootstrap: str, group: str, offsets: dict[str, dict[int, int]]) -> None:
        if self.refusals:
            self.refusals -= 1
            raise RuntimeError("Broker: Not coordinator")
        self.committed.append(offsets)


def progress(batch: int, end: dict[str, dict[str, int]]) -> SimpleNamespace:
    source = SimpleNamespace(endOffset=json.dumps(end), metrics={})
    return SimpleNamespace(
        progress=SimpleNamespace(
            batchId=batch,
            sources=[source],
            numInputRows=1,
            processedRowsPerSecond=1.0,
            durationMs={},
        )
    )


def test_each_batch_commits_its_end_offsets() -> None:
    broker = Broker()
    listener = make_offset_commit_listener("b:9092", "g", commit_offsets=broker)
    listener.onQueryProgress(progress(0, {"t": {"0": 5, "1": 7}}))
    listener.onQueryIdle(None)
    assert broker.committed == [{"t": {0: 5, 1: 7}}]


def test_a_refused_commit_is_tried_again_when_the_query_is_idle() -> None:
    broker = Broker(refusals=1)
    listener = make_offset_commit_listener("b:9092", "g", commit_offsets=broker)
    listener.onQueryProgress(progress(3, {"t": {"0": 10}}))
    assert broker.committed == []
    listener.onQueryIdle(None)
    assert broker.committed == [{"t": {0: 10}}]
    listener.onQueryIdle(None)
    assert broker.committed == [{"t": {0: 10}}]


def test_a_later_batch_supersedes_a_refused_commit() -> None:
    broker = Broker(refusals=1)
    listener = make_offset_commit_listener("b:9092", "g", commit_offsets=broker)
    listener.onQueryProgress(progress(3, {"t": {"0": 10}}))
    listener.onQueryProgress(progress(4, {"t": {"0": 12}}))
    listener.onQueryIdle(None)
    assert broker.committed == [{"t": {0: 12}}]
