from __future__ import annotations

import pytest

from kafkalab.domain.lag import LagCondition, LagSnapshot, LagWatch, compute_lag

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
