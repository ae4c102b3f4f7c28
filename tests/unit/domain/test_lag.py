from __future__ import annotations

import pytest

from kafkalab.domain.lag import LagCondition, LagSnapshot, LagWatch, PartitionLag, compute_lag

T = "raw_financial_transactions"


def snapshot(committed: dict[int, int], end: dict[int, int], at: float = 0.0) -> LagSnapshot:
    return compute_lag(
        "g",
        {(T, p): o for p, o in end.items()},
        {(T, p): o for p, o in committed.items()},
        {(T, p): 0 for p in end},
        taken_at=at,
    )


def test_lag_is_end_minus_committed_and_uncommitted_partitions_count_whole() -> None:
    snap = snapshot({0: 5, 1: 10}, {0: 10, 1: 10, 2: 7})
    assert [p.lag for p in snap.partitions] == [5, 0, 7]
    assert snap.total == 12 and snap.max_partition_lag == 7


def test_table_lists_every_partition_like_kafka_consumer_groups() -> None:
    text = snapshot({0: 5}, {0: 10, 1: 3}).table()
    assert "CURRENT-OFFSET" in text and "LOG-END-OFFSET" in text
    assert f"{T:<32}         1              -              3          3" in text


def test_round_trip_through_xcom() -> None:
    snap = snapshot({0: 5}, {0: 10, 1: 3}, at=12.5)
    assert LagSnapshot.from_dict(snap.to_dict()) == snap


def test_at_most_must_hold_for_the_whole_window() -> None:
    watch = LagWatch(LagCondition("at_most", threshold=10, hold_for=5))
    assert not watch.observe(snapshot({0: 5}, {0: 10}, at=0))
    assert not watch.observe(snapshot({0: 0}, {0: 100}, at=3))  # broken: starts over
    assert not watch.observe(snapshot({0: 95}, {0: 100}, at=4))
    assert watch.observe(snapshot({0: 98}, {0: 100}, at=9))


def test_per_partition_threshold() -> None:
    condition = LagCondition("at_most", threshold=4, per_partition=True)
    assert not LagWatch(condition).observe(snapshot({0: 0, 1: 10}, {0: 2, 1: 15}))
    assert LagWatch(condition).observe(snapshot({0: 0, 1: 12}, {0: 2, 1: 15}))


def test_grows_by_measures_from_the_first_observation() -> None:
    watch = LagWatch(LagCondition("grows_by", threshold=100))
    assert not watch.observe(snapshot({0: 0}, {0: 50}))
    assert not watch.observe(snapshot({0: 0}, {0: 149}))
    assert watch.observe(snapshot({0: 0}, {0: 150}))
    assert watch.baseline_total == 50


def test_drains_to_and_the_failure_message_names_partitions() -> None:
    watch = LagWatch(LagCondition("drains_to", threshold=0))
    snap = snapshot({0: 10, 1: 4}, {0: 10, 1: 9})
    assert not watch.observe(snap)
    message = watch.failure_message(snap, waited=60)
    assert "expected total lag to drain to at most 0 within 60s" in message
    assert "total lag is 5" in message and f"{T:<32}         1" in message


def test_invalid_conditions_are_named() -> None:
    with pytest.raises(ValueError, match="unknown lag mode"):
        LagCondition("shrinks", threshold=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        LagCondition("at_most", threshold=-1)


def test_table_is_the_whole_describe_layout_with_time_lag_and_total() -> None:
    snap = LagSnapshot(
        "g",
        0.0,
        [
            PartitionLag("b", 1, end_offset=9, committed_offset=None, time_lag_seconds=2.25),
            PartitionLag("a", 2, end_offset=10, committed_offset=4),
            PartitionLag("a", 0, end_offset=3, committed_offset=3),
        ],
    )
    header = f"{'TOPIC':<32} PARTITION CURRENT-OFFSET LOG-END-OFFSET        LAG"
    assert snap.table().split("\n") == [
        "group g:",
        header,
        f"{'a':<32}         0              3              3          0",
        f"{'a':<32}         2              4             10          6",
        f"{'b':<32}         1              -              9          9  (2.2s behind)",
        f"{'total':<32} {'':>9} {'':>14} {'':>14}         15",
    ]


def test_compute_lag_defaults_earliest_to_zero_and_stamps_the_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("kafkalab.domain.lag.time.time", lambda: 1234.5)
    snap = compute_lag("g", {(T, 1): 8, (T, 0): 5}, {(T, 0): 2})
    assert snap.group == "g" and snap.taken_at == 1234.5
    assert snap.partitions == [
        PartitionLag(T, 0, end_offset=5, committed_offset=2, earliest_offset=0),
        PartitionLag(T, 1, end_offset=8, committed_offset=None, earliest_offset=0),
    ]
    assert [p.lag for p in snap.partitions] == [3, 8]
    assert compute_lag("g", {(T, 0): 5}, {}, {(T, 0): 4}, taken_at=0.0).taken_at == 0.0
    assert compute_lag("g", {(T, 0): 5}, {}, {(T, 0): 4}).partitions[0].lag == 1


def test_lag_never_goes_negative_and_time_lag_is_the_worst_partition() -> None:
    assert PartitionLag(T, 0, end_offset=5, committed_offset=7).lag == 0
    assert PartitionLag(T, 0, end_offset=5, committed_offset=0, earliest_offset=3).lag == 5
    snap = LagSnapshot(
        "g",
        0.0,
        [
            PartitionLag(T, 0, 1, 0, time_lag_seconds=1.5),
            PartitionLag(T, 1, 1, 0, time_lag_seconds=None),
            PartitionLag(T, 2, 1, 0, time_lag_seconds=4.0),
        ],
    )
    assert snap.max_time_lag_seconds == 4.0
    assert LagSnapshot("g", 0.0, [PartitionLag(T, 0, 1, 0)]).max_time_lag_seconds is None
    empty = LagSnapshot("g", 0.0)
    assert empty.total == 0 and empty.max_partition_lag == 0
    assert empty.to_dict() == {"group": "g", "taken_at": 0.0, "total_lag": 0, "partitions": []}


def test_to_dict_carries_each_partitions_lag() -> None:
    data = snapshot({0: 5}, {0: 10}, at=3.0).to_dict()
    assert data == {
        "group": "g",
        "taken_at": 3.0,
        "total_lag": 5,
        "partitions": [
            {
                "topic": T,
                "partition": 0,
                "end_offset": 10,
                "committed_offset": 5,
                "earliest_offset": 0,
                "time_lag_seconds": None,
                "lag": 5,
            }
        ],
    }


def test_each_condition_describes_itself() -> None:
    assert LagCondition("at_most", 10).describe() == "total lag to stay at most 10"
    assert (
        LagCondition("at_most", 3, per_partition=True, hold_for=30).describe()
        == "every partition's lag to stay at most 3 for 30s"
    )
    assert LagCondition("drains_to", 0).describe() == "total lag to drain to at most 0"
    assert (
        LagCondition("grows_by", 200).describe(baseline_total=50)
        == "total lag to grow by at least 200 (from 50 to >= 250)"
    )
    assert (
        LagCondition("grows_by", 200).describe()
        == "total lag to grow by at least 200 (from 0 to >= 200)"
    )


def test_conditions_hold_at_their_threshold() -> None:
    at_ten = snapshot({0: 0, 1: 0}, {0: 4, 1: 6})
    assert LagCondition("at_most", 10).holds(at_ten, None)
    assert not LagCondition("at_most", 9).holds(at_ten, None)
    assert LagCondition("drains_to", 10).holds(at_ten, None)
    assert LagCondition("at_most", 6, per_partition=True).holds(at_ten, None)
    assert not LagCondition("at_most", 5, per_partition=True).holds(at_ten, None)
    assert LagCondition("grows_by", 10).holds(at_ten, None)
    assert not LagCondition("grows_by", 11).holds(at_ten, None)
    assert LagCondition("grows_by", 4).holds(at_ten, 6)
    assert not LagCondition("grows_by", 5).holds(at_ten, 6)
    LagCondition("at_most", 0)  # zero is a valid threshold


def test_a_watch_keeps_samples_and_when_the_condition_started_to_hold() -> None:
    watch = LagWatch(LagCondition("at_most", threshold=10, hold_for=5), started_at=0.0)
    assert not watch.observe(snapshot({0: 0}, {0: 20}, at=1.0004))
    assert watch.held_since is None
    assert not watch.observe(snapshot({0: 15}, {0: 20}, at=2.0))
    assert watch.held_since == 2.0
    assert not watch.observe(snapshot({0: 15}, {0: 20}, at=6.9))
    assert watch.held_since == 2.0
    assert watch.observe(snapshot({0: 15}, {0: 20}, at=7.0))
    assert watch.samples == [(1.0, 20), (2.0, 5), (6.9, 5), (7.0, 5)]
    assert watch.baseline_total is None  # only grows_by measures from a baseline


def test_a_watch_with_no_hold_passes_at_once_and_keeps_a_given_baseline() -> None:
    assert LagWatch(LagCondition("drains_to", 0)).observe(snapshot({0: 3}, {0: 3}, at=5.0))
    watch = LagWatch(LagCondition("grows_by", 10), baseline_total=0)
    assert watch.observe(snapshot({0: 0}, {0: 10}))
    assert watch.baseline_total == 0


def test_the_failure_message_is_whole() -> None:
    watch = LagWatch(LagCondition("grows_by", threshold=100))
    snap = snapshot({0: 0, 1: 2}, {0: 30, 1: 10})
    watch.observe(snap)
    assert watch.failure_message(snap, waited=59.6) == (
        "consumer group g: expected total lag to grow by at least 100 (from 38 to >= 138) "
        "within 60s, but total lag is 38 (max per partition 30).\n"
        f"{snap.table()}\n"
        "Check that the consumer runs and commits "
        "(`./lab kafka kafka-consumer-groups --bootstrap-server ... --describe --group g`)."
    )
