from __future__ import annotations

import pytest

from kafkalab.domain.cluster import (
    NotAReplicatedCluster,
    PartitionState,
    busiest_leader,
    condition_holds,
    describe,
    ingest_dip,
    led_by,
    require_replicated,
)


def state(partition: int, leader: int, isr: tuple[int, ...], replicas=(1, 2, 3)) -> PartitionState:
    return PartitionState(partition, leader, tuple(replicas), isr)


HEALTHY = [state(0, 1, (1, 2, 3)), state(1, 2, (2, 3, 1)), state(2, 1, (1, 2, 3))]


def test_the_busiest_leader_leads_the_most_partitions_lowest_id_among_equals() -> None:
    assert busiest_leader(HEALTHY) == 1
    assert led_by(HEALTHY, 1) == [0, 2]
    even = [state(0, 3, (1, 2, 3)), state(1, 2, (1, 2, 3))]
    assert busiest_leader(even) == 2


def test_leaders_moved_only_when_every_partition_has_an_in_sync_leader_but_the_lost_one() -> None:
    assert not condition_holds("leaders_moved", HEALTHY, broker=1)
    moved = [state(0, 2, (2, 3)), state(1, 2, (2, 3)), state(2, 3, (2, 3))]
    assert condition_holds("leaders_moved", moved, broker=1)
    offline = [state(0, -1, ()), *moved[1:]]
    assert not condition_holds("leaders_moved", offline, broker=1)
    # A leader outside its ISR is what unclean leader election would produce.
    unclean = [state(0, 2, (3,)), *moved[1:]]
    assert not condition_holds("leaders_moved", unclean, broker=1)
    assert not condition_holds("leaders_moved", [], broker=1)


def test_under_replicated_means_the_lost_broker_left_an_isr() -> None:
    assert not condition_holds("under_replicated", HEALTHY, broker=1)
    shrunk = [state(0, 2, (2, 3)), *HEALTHY[1:]]
    assert condition_holds("under_replicated", shrunk, broker=1)
    assert not condition_holds("under_replicated", shrunk, broker=3)


def test_fully_replicated_needs_every_replica_in_sync_and_a_leader() -> None:
    assert condition_holds("fully_replicated", HEALTHY, broker=1)
    assert not condition_holds("fully_replicated", [state(0, 2, (2, 3)), *HEALTHY[1:]], broker=1)
    assert not condition_holds("fully_replicated", [state(0, -1, (1, 2, 3))], broker=1)


def test_the_drill_refuses_a_cluster_that_cannot_lose_a_broker() -> None:
    require_replicated("t", HEALTHY, brokers=3)
    with pytest.raises(NotAReplicatedCluster, match=r"1 broker\(s\).*--brokers 3"):
        require_replicated("t", [state(0, 1, (1,), replicas=(1,))], brokers=1)
    with pytest.raises(NotAReplicatedCluster, match="partition 0 \\(1 replicas\\)"):
        require_replicated("t", [state(0, 1, (1,), replicas=(1,))], brokers=3)
    with pytest.raises(NotAReplicatedCluster, match="not fully replicated"):
        require_replicated("t", [state(0, 1, (1, 2))], brokers=3)


def test_partitions_are_described_with_leader_isr_and_replicas() -> None:
    text = describe([state(0, 2, (2, 3)), state(1, -1, ())])
    assert text == (
        "partition 0: leader 2, ISR [2, 3] of replicas [1, 2, 3]; "
        "partition 1: no leader (offline), ISR [] of replicas [1, 2, 3]"
    )


def test_a_state_survives_the_round_trip_through_xcom() -> None:
    assert PartitionState.from_dict(HEALTHY[1].to_dict()) == HEALTHY[1]


def test_the_ingest_dip_compares_the_outage_with_the_seconds_before() -> None:
    # start 100: the partial first second (100), then 50/s; the kill at 104.5; nothing
    # acknowledged in 105 and 106; back to 40 and 50 before the rejoin at 108.2.
    series = {"start": 100, "counts": [7, 50, 50, 50, 50, 20, 0, 0, 40, 50]}
    dip = ingest_dip(series, outage_from=104.5, outage_to=108.2)
    assert dip == {
        "baseline_events_per_s": 50,
        "lowest_events_per_s": 0,
        "dip_percent": 100.0,
        "seconds_without_acknowledgement": 2,
        "acknowledged_during_outage": 20 + 0 + 0 + 40 + 50,
    }


def test_no_acknowledgement_at_all_is_reported_as_such() -> None:
    assert ingest_dip({"start": None, "counts": []}, 1.0, 2.0)["acknowledged_during_outage"] == 0
    dip = ingest_dip({"start": 100, "counts": [5, 5]}, outage_from=110, outage_to=112)
    assert dip["acknowledged_during_outage"] == 0
    assert dip["seconds_without_acknowledgement"] == 3


def test_a_replica_plan_keeps_each_leader_first_and_touches_only_what_differs() -> None:
    from kafkalab.domain.cluster import reassignment_json, replica_plan

    assert replica_plan(HEALTHY, 3, [1, 2, 3]) == {}
    assert replica_plan(HEALTHY, 1, [1, 2, 3]) == {0: [1], 1: [2], 2: [1]}
    thin = [state(0, 2, (2,), replicas=(2,)), state(1, 3, (3, 1), replicas=(3, 1))]
    assert replica_plan(thin, 3, [1, 2, 3]) == {0: [2, 1, 3], 1: [3, 1, 2]}
    assert reassignment_json("t", {1: [2]}) == {
        "version": 1,
        "partitions": [{"topic": "t", "partition": 1, "replicas": [2]}],
    }
