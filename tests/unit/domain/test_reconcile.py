from __future__ import annotations

from kafkalab.domain.reconcile import (
    compress_offsets,
    reconcile_offsets,
    reconcile_records,
    sequence_digest,
)


def test_exactly_once_passes() -> None:
    observed = [(0, o) for o in range(5, 10)] + [(1, o) for o in range(3)]
    result = reconcile_offsets("t", observed, {0: (5, 10), 1: (0, 3)})
    assert result.ok and result.expected_total == 8
    assert "exactly once (8 records)" in result.message("the table")


def test_missing_and_duplicated_offsets_are_named_per_partition() -> None:
    observed = [(0, 0), (0, 1), (0, 1), (0, 4), (1, 0)]
    result = reconcile_offsets("t", observed, {0: (0, 5), 1: (0, 2)})
    assert not result.ok
    message = result.message("s3a://bucket/table")
    assert "partition 0, expected offsets [0, 5): 2 missing offsets (2-3); " in message
    assert "1 duplicated offsets (1)" in message
    assert "partition 1, expected offsets [0, 2): 1 missing offsets (1)" in message
    assert result.summary()["duplicated"] == 1


def test_rows_outside_the_range_fail_and_are_named() -> None:
    observed = [(0, 0), (0, 1), (0, 2), (0, 9), (1, 4), (3, 1), (3, 2)]
    result = reconcile_offsets("t", observed, {0: (1, 3), 1: (4, 5)})
    assert not result.ok and result.outside_range == 4
    message = result.message("s3a://bucket/table")
    assert message.startswith("s3a://bucket/table does not hold t exactly once:")
    assert (
        "partition 0, expected offsets [1, 3): 1 rows before the range (offsets 0); "
        "1 rows after the range (offsets 9)" in message
    )
    assert "partition 3, not one of the expected partitions (0, 1): 2 rows (offsets 1-2)" in (
        message
    )
    assert "partition 1" not in message  # a partition without problems is not listed
    assert "look at the job's starting offsets" in message
    assert result.summary()["outside_range"] == 4


def test_a_side_of_the_range_can_be_tolerated_and_is_counted() -> None:
    # Still streaming: rows after the end are later records; from Kafka's earliest:
    # rows before it were deleted by retention after they were read.
    observed = [(0, 0), (0, 1), (0, 2), (0, 9)]
    later = reconcile_offsets("t", observed, {0: (0, 3)}, later_allowed=True)
    assert later.ok and later.summary()["later_tolerated"] == 1
    earlier = reconcile_offsets("t", observed, {0: (1, 10)}, earlier_allowed=True)
    assert not earlier.ok and earlier.summary()["earlier_tolerated"] == 1
    assert "6 missing offsets (3-8)" in earlier.message("table")
    # A partition the ranges do not name is never tolerated.
    stray = reconcile_offsets("t", [(0, 0), (5, 0)], {0: (0, 1)}, later_allowed=True)
    assert not stray.ok and "partition 5, not one of the expected" in stray.message("table")


KAFKA_IDS = {(0, 0): "txn-a", (0, 1): "txn-b", (1, 0): "txn-c", (1, 1): None}


def test_ids_that_match_kafka_pass() -> None:
    rows = [(0, 0, "txn-a"), (0, 1, "txn-b"), (1, 0, "txn-c"), (1, 1, None)]
    result = reconcile_records("t", rows, {0: (0, 2), 1: (0, 2)}, kafka_ids=KAFKA_IDS)
    assert result.ok, result.message("table")
    assert "with the event ids Kafka holds (4 records)" in result.message("table")


def test_wrong_missing_and_repeated_ids_fail_and_are_named() -> None:
    # Offsets alone are all there exactly once: only the ids tell.
    rows = [(0, 0, "txn-a"), (0, 1, "txn-a"), (1, 0, None), (1, 1, None)]
    result = reconcile_records("t", rows, {0: (0, 2), 1: (0, 2)}, kafka_ids=KAFKA_IDS)
    assert reconcile_offsets("t", [(p, o) for p, o, _ in rows], {0: (0, 2), 1: (0, 2)}).ok
    assert not result.ok
    message = result.message("table")
    assert (
        "partition 0, expected offsets [0, 2): 1 rows whose event id is not the one Kafka "
        "holds at their offset (offset 1: 'txn-a' in the table, 'txn-b' in Kafka)"
    ) in message
    assert "partition 1, expected offsets [0, 2): 1 rows without an event id (offsets 0)" in (
        message
    )
    assert "1 event ids at more than one offset ('txn-a' at 0:0, 0:1)" in message
    summary = result.summary()
    assert (summary["wrong_ids"], summary["missing_ids"], summary["repeated_ids"]) == (1, 1, 1)


def test_ids_outside_the_range_are_not_compared() -> None:
    rows = [(0, 0, "txn-a"), (0, 1, "txn-b"), (0, 2, "elsewhere")]
    result = reconcile_records("t", rows, {0: (0, 2)}, kafka_ids=KAFKA_IDS, later_allowed=True)
    assert result.ok, result.message("table")


def test_compress_offsets() -> None:
    assert compress_offsets([9, 1, 2, 3, 7, 10]) == "1-3, 7, 9-10"
    assert compress_offsets(range(0, 100, 2), limit=2).endswith("(48 more runs)")


def test_digest_depends_on_order_free_content() -> None:
    a = sequence_digest([(1, "x"), (0, "w")])
    assert a == sequence_digest([(0, "w"), (1, "x")])
    assert a != sequence_digest([(0, "w"), (1, "y")])


def test_an_event_kafka_holds_twice_fails_although_the_table_mirrors_kafka() -> None:
    # A producer that published one event twice: every row matches Kafka's record at
    # its offset, yet the table holds the event twice.
    kafka_ids = {(0, 0): "txn-a", (0, 1): "txn-a", (0, 2): "txn-b"}
    rows = [(0, 0, "txn-a"), (0, 1, "txn-a"), (0, 2, "txn-b")]
    result = reconcile_records("t", rows, {0: (0, 3)}, kafka_ids=kafka_ids)
    assert not result.ok
    assert result.message("table") == (
        "table does not hold t exactly once:\n"
        "  1 event ids at more than one offset ('txn-a' at 0:0, 0:1): the same event was "
        "published more than once"
    )
