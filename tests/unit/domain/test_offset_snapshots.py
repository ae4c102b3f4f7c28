"""Offsets back from XCom, where JSON made the partition numbers strings."""

from __future__ import annotations

from kafkalab.domain.offsets import offsets_for


def test_plain_offsets_come_back_with_int_partitions() -> None:
    assert offsets_for("t", {"0": 5, "1": "7"}) == {0: 5, 1: 7}


def test_a_snapshot_gives_the_named_topics_offsets() -> None:
    snapshot = {"taken_at": 1.0, "which": "end", "topics": {"t": {"0": 3}, "u": {"0": 9}}}
    assert offsets_for("t", snapshot) == {0: 3}


def test_no_value_stays_none() -> None:
    assert offsets_for("t", None) is None
