from __future__ import annotations

import hashlib

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


def test_every_kind_of_problem_is_counted_and_named_per_partition() -> None:
    kafka_ids = {(0, o): f"k{o}" for o in range(10, 20)} | {(1, o): f"m{o}" for o in range(5)}
    rows = [
        (0, 8, None),  # before the range
        (0, 10, "k10"),
        (0, 11, "k11"),
        (0, 11, "k11"),  # twice
        (0, 12, "k12"),
        (0, 12, "k12"),
        (0, 12, "k12"),  # three times
        (0, 13, None),  # no id
        *[(0, o, f"x{o}") for o in range(14, 18)],  # four wrong ids; 18 missing
        (0, 19, "k19"),
        (0, 21, "k21"),
        (0, 22, "k22"),  # after the range
        (1, 0, "r"),
        (1, 1, "r"),
        (1, 2, "s"),
        (1, 3, "s"),
        (1, 4, "t"),
        (2, 4, None),
        (2, 3, None),  # a partition the ranges do not name
    ]
    result = reconcile_records("t", rows, {0: (10, 20), 1: (0, 5)}, kafka_ids=kafka_ids)
    assert not result.ok
    assert result.summary() == {
        "topic": "t",
        "ok": False,
        "expected": 15,
        "present": 14,
        "missing": 1,
        "duplicated": 3,
        "outside_range": 5,
        "earlier_tolerated": 0,
        "later_tolerated": 0,
        "ids_checked": True,
        "missing_ids": 1,
        "wrong_ids": 9,
        "repeated_ids": 2,
        "partitions": {
            "0": {
                "from": 10,
                "to": 20,
                "present": 9,
                "missing": 1,
                "duplicated": 2,
                "outside_range": 3,
            },
            "1": {
                "from": 0,
                "to": 5,
                "present": 5,
                "missing": 0,
                "duplicated": 0,
                "outside_range": 0,
            },
        },
    }
    wrong = "rows whose event id is not the one Kafka holds at their offset"
    assert result.message("table").split("\n") == [
        "table does not hold t exactly once:",
        "  partition 0, expected offsets [10, 20): 1 missing offsets (18); "
        "2 duplicated offsets (11-12); 1 rows before the range (offsets 8); "
        "2 rows after the range (offsets 21-22); 1 rows without an event id (offsets 13); "
        f"4 {wrong} (offset 14: 'x14' in the table, 'k14' in Kafka; "
        "offset 15: 'x15' in the table, 'k15' in Kafka; "
        "offset 16: 'x16' in the table, 'k16' in Kafka; ... (1 more))",
        f"  partition 1, expected offsets [0, 5): 5 {wrong} "
        "(offset 0: 'r' in the table, 'm0' in Kafka; offset 1: 'r' in the table, 'm1' in Kafka; "
        "offset 2: 's' in the table, 'm2' in Kafka; ... (2 more))",
        "  partition 2, not one of the expected partitions (0, 1): 2 rows (offsets 3-4)",
        "  2 event ids at more than one offset ('r' at 1:0, 1:1; 's' at 1:2, 1:3): "
        "the same event was published more than once",
        "  Rows outside the expected ranges were written from offsets nobody asked for: "
        "look at the job's starting offsets and whether another run wrote to this table.",
    ]


def test_three_wrong_ids_are_all_shown_and_three_repeated_ids_of_four() -> None:
    kafka_ids = {(0, o): f"k{o}" for o in range(8)}
    rows = [(0, o, f"x{o}") for o in range(3)] + [(0, o, f"k{o}") for o in range(3, 8)]
    result = reconcile_records("t", rows, {0: (0, 8)}, kafka_ids=kafka_ids)
    assert result.partitions[0].problems() == [
        "3 rows whose event id is not the one Kafka holds at their offset "
        "(offset 0: 'x0' in the table, 'k0' in Kafka; offset 1: 'x1' in the table, 'k1' in "
        "Kafka; offset 2: 'x2' in the table, 'k2' in Kafka)"
    ]
    repeated = reconcile_records(
        "t", [(0, o, "abcd"[o // 2]) for o in range(8)], {0: (0, 8)}, kafka_ids={}
    )
    assert sorted(repeated.repeated_ids) == ["a", "b", "c", "d"]
    assert repeated.message("table").split("\n")[-1] == (
        "  4 event ids at more than one offset ('a' at 0:0, 0:1; 'b' at 0:2, 0:3; "
        "'c' at 0:4, 0:5): the same event was published more than once"
    )


def test_missing_ids_are_sorted_and_a_row_kafka_has_no_id_for_is_wrong_only_with_one() -> None:
    kafka_ids = {(0, 0): "a", (0, 1): "b", (0, 2): None}
    rows = [(0, 1, None), (0, 0, None), (0, 2, "c")]
    result = reconcile_records("t", rows, {0: (0, 3)}, kafka_ids=kafka_ids)
    assert result.partitions[0].missing_ids == [0, 1]
    assert result.partitions[0].wrong_ids == {2: ("c", None)}
    assert result.ids_checked and not reconcile_offsets("t", [], {0: (0, 1)}).ids_checked


def test_tolerated_rows_are_counted_per_side_and_not_failures() -> None:
    observed = [(0, 0), (0, 0), (0, 1), (0, 2), (0, 3), (0, 3), (0, 4)]
    result = reconcile_offsets("t", observed, {0: (1, 3)}, earlier_allowed=True, later_allowed=True)
    assert result.ok and result.outside_range == 0
    summary = result.summary()
    assert (summary["earlier_tolerated"], summary["later_tolerated"]) == (2, 3)
    assert (summary["present"], summary["missing"], summary["duplicated"]) == (2, 0, 0)
    strict = reconcile_offsets("t", observed, {0: (1, 3)})
    assert strict.partitions[0].before_range == [0, 0]
    assert strict.partitions[0].after_range == [3, 3, 4]
    assert strict.outside_range == 5


def test_the_passing_message_names_the_place_topic_and_count() -> None:
    result = reconcile_offsets("t", [(0, 5), (0, 6)], {0: (5, 7)})
    assert result.message("s3a://b/x") == (
        "s3a://b/x: every offset of t in the expected ranges is present exactly once (2 records)"
    )
    none = reconcile_offsets("t", [(4, 1)], {})
    assert none.message("x").split("\n")[1] == (
        "  partition 4, not one of the expected partitions (none): 1 rows (offsets 1)"
    )


def test_compress_offsets_at_its_limit() -> None:
    assert compress_offsets([]) == ""
    assert compress_offsets([5, 5, 6]) == "5-6"
    assert compress_offsets([0, 2, 4], limit=3) == "0, 2, 4"
    assert compress_offsets([0, 2, 4, 6], limit=3) == "0, 2, 4, ... (1 more runs)"
    assert compress_offsets(range(0, 26, 2)) == (
        "0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, ... (1 more runs)"
    )


def test_digest_is_sha256_of_offset_and_id_lines() -> None:
    assert sequence_digest([(1, "b"), (0, "a")]) == hashlib.sha256(b"0:a\n1:b\n").hexdigest()


def test_tolerated_rows_add_up_across_offsets() -> None:
    observed = [(0, 0), (0, 1), (0, 1), (0, 2), (0, 5), (0, 6)]
    result = reconcile_offsets("t", observed, {0: (2, 3)}, earlier_allowed=True, later_allowed=True)
    assert (result.partitions[0].earlier, result.partitions[0].later) == (3, 2)
