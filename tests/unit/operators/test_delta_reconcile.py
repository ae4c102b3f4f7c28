from __future__ import annotations

from kafkalab.domain.reconcile import sequence_digest
from kafkalab.operators.delta import event_id_of, partition_digests


def test_the_event_id_is_read_from_a_json_event_only() -> None:
    assert event_id_of(b'{"transaction_id": "txn-1"}', "transaction_id") == "txn-1"
    assert event_id_of(b'{"other": 1}', "transaction_id") is None
    assert event_id_of(b"not json", "transaction_id") is None
    assert event_id_of(b"[1, 2]", "transaction_id") is None
    assert event_id_of(None, "transaction_id") is None


def test_digests_cover_the_expected_range_of_each_partition_only() -> None:
    def row(partition: int, offset: int, event_id: str | None) -> dict:
        return {"kafka_partition": partition, "kafka_offset": offset, "id": event_id}

    rows = [
        row(0, 4, "a"),  # before the range
        row(0, 6, "c"),
        row(0, 5, "b"),
        row(0, 7, None),  # quarantined: no id
        row(0, 9, "z"),  # after the range
        row(1, 0, "x"),
        row(2, 0, "ignored"),  # a partition the range does not name
    ]
    digests = partition_digests(rows, {0: (5, 8), 1: (0, 1)}, "id")
    assert digests == {
        "0": sequence_digest([(5, "b"), (6, "c")]),
        "1": sequence_digest([(0, "x")]),
    }
