from __future__ import annotations

from kafkalab.reconcile import compress_offsets, reconcile_offsets, sequence_digest


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


def test_rows_outside_the_range_are_counted_not_failed() -> None:
    result = reconcile_offsets("t", [(0, 0), (0, 9), (3, 1)], {0: (0, 1)})
    assert result.ok and result.outside_range == 2


def test_compress_offsets() -> None:
    assert compress_offsets([9, 1, 2, 3, 7, 10]) == "1-3, 7, 9-10"
    assert compress_offsets(range(0, 100, 2), limit=2).endswith("(48 more runs)")


def test_digest_depends_on_order_free_content() -> None:
    a = sequence_digest([(1, "x"), (0, "w")])
    assert a == sequence_digest([(0, "w"), (1, "x")])
    assert a != sequence_digest([(0, "w"), (1, "y")])
