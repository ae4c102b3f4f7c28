from __future__ import annotations

from kafkalab.domain.recovery import (
    DEFINITIONS,
    JobProgress,
    moved_offsets,
    objectives_failure,
    pause_failure,
    recovery_time,
    tally_recovered,
    window_at_risk,
)

OBJECTIVES = {"max_rto_seconds": 60.0, "max_window_at_risk_seconds": 120.0}
WINDOW = {"records": 500, "seconds": 30.0}


def progress(committed: dict[int, int], version: int | None, at: float = 100.0) -> JobProgress:
    return JobProgress(committed=committed, table_version=version, taken_at=at)


def test_a_pause_holds_when_nothing_moved() -> None:
    assert pause_failure("job", progress({0: 5, 1: 7}, 3), progress({0: 5, 1: 7}, 3, 140.0)) is None
    assert pause_failure("job", progress({}, None), progress({}, None, 140.0)) is None


def test_moved_offsets_names_changed_new_and_vanished_partitions() -> None:
    assert moved_offsets({0: 5, 1: 7, 2: 1}, {0: 5, 1: 9, 3: 4}) == {
        1: (7, 9),
        2: (1, None),
        3: (None, 4),
    }
    assert moved_offsets({0: 5}, {0: 5}) == {}


def test_a_pause_fails_naming_moved_offsets_and_the_new_table_version() -> None:
    failure = pause_failure("J", progress({0: 5, 1: 7}, 3), progress({0: 5, 1: 9}, 5, 142.4))
    assert failure == (
        "the paused Spark job J did not stay paused: in the 42s after the pause\n"
        "  its group's committed offsets moved: partition 1 7 -> 9\n"
        "  its Delta table went from version 3 to 5"
    )


def test_a_job_that_writes_without_committing_is_not_paused() -> None:
    failure = pause_failure("J", progress({0: 5}, None), progress({0: 5}, 0, 110.0))
    assert failure == (
        "the paused Spark job J did not stay paused: in the 10s after the pause\n"
        "  its Delta table went from version None to 0"
    )


def test_a_job_that_commits_without_writing_is_not_paused() -> None:
    failure = pause_failure("J", progress({0: 5}, 2), progress({0: 6, 1: 1}, 2, 110.0))
    assert failure == (
        "the paused Spark job J did not stay paused: in the 10s after the pause\n"
        "  its group's committed offsets moved: partition 0 5 -> 6, partition 1 None -> 1"
    )


def test_every_acknowledged_event_recovered_once_meets_the_objectives() -> None:
    recovered = tally_recovered("t", {"a", "b"}, ["a", "b", "x"], [])
    assert recovered.problems() == []
    assert recovered.figures() == {
        "acknowledged": 2,
        "recovered": 2,
        "lost": 0,
        "quarantined": 0,
        "duplicated": 0,
    }
    assert objectives_failure(recovered, WINDOW, 60.0, OBJECTIVES) is None


def test_missing_events_make_the_rpo_and_fail() -> None:
    recovered = tally_recovered("t", {"a", "b", "c", "d", "e"}, ["a"], [])
    assert recovered.missing == ["b", "c", "d", "e"]
    assert objectives_failure(recovered, WINDOW, 1.0, OBJECTIVES) == (
        "recovery of t missed its objectives:\n"
        "  RPO is 4, not 0: 4 of the 5 acknowledged events are not in the recovered table, "
        "e.g. ['b', 'c', 'd']"
    )
    assert recovered.figures()["lost"] == 4


def test_quarantined_events_of_the_run_count_as_lost_with_their_reasons() -> None:
    quarantined = [("a", "unknown fields: amount"), ("b", "unknown fields: amount"), ("c", "bad")]
    recovered = tally_recovered("t", {"a", "b", "c"}, [], quarantined)
    assert recovered.problems() == [
        "RPO is 3, not 0: 3 of the 3 acknowledged events are not in the recovered table, "
        "e.g. ['a', 'b', 'c']",
        "3 of them were quarantined by the replay: 2 × unknown fields: amount; 1 × bad",
    ]
    assert recovered.figures()["quarantined"] == 3


def test_an_event_both_quarantined_and_recovered_fails() -> None:
    recovered = tally_recovered("t", {"a", "b"}, ["a", "b"], [("b", "bad")])
    assert recovered.problems() == [
        "1 events of the run are in the quarantine table as well as recovered, e.g. ['b']"
    ]


def test_duplicated_events_fail() -> None:
    recovered = tally_recovered("t", {"a", "b"}, ["a", "b", "b", "a", "a"], [])
    assert recovered.duplicated == {"a": 3, "b": 2}
    assert recovered.problems() == [
        "2 events are in the recovered table more than once, e.g. ['a', 'b']"
    ]
    assert recovered.figures()["duplicated"] == 2


def test_the_window_at_risk_counts_records_after_the_committed_offsets() -> None:
    # A partition the paused group never committed on is at risk from its start.
    assert window_at_risk({0: 10, 1: 20}, {0: 15, 1: 20, 2: 7}, 100.0, 130.25) == {
        "records": 12,
        "seconds": 30.25,
    }
    # Committed past the recovery point (never, but no negative risk) and clock skew.
    assert window_at_risk({0: 10}, {0: 8}, 100.0, 99.0) == {"records": 0, "seconds": 0.0}


def test_recovery_time_is_from_the_request_to_the_recovery_point() -> None:
    assert recovery_time(1000.0, 1042.1234) == 42.123


def test_objectives_at_their_bound_pass_and_over_it_fail() -> None:
    recovered = tally_recovered("t", {"a"}, ["a"], [])
    at_bound = {"records": 5, "seconds": 120.0}
    assert objectives_failure(recovered, at_bound, 60.0, OBJECTIVES) is None
    over = {"records": 5, "seconds": 120.5}
    assert objectives_failure(recovered, over, 60.5, OBJECTIVES) == (
        "recovery of t missed its objectives:\n"
        "  the window at risk was 120s (5 records), over the objective of 120s\n"
        "  RTO was 60.5s, over the objective of 60s"
    )


def test_the_definitions_are_stated_for_the_report() -> None:
    assert set(DEFINITIONS) == {"window_at_risk", "rpo", "rto"}
    assert "quarantined" in DEFINITIONS["rpo"]
    assert "start request" in DEFINITIONS["rto"]


def test_long_lists_show_three_examples_and_the_three_commonest_reasons() -> None:
    ids = {"a", "b", "c", "d"}
    quarantined = [("a", "r1"), ("b", "r2"), ("c", "r3"), ("d", "r4")]
    lost = tally_recovered("t", ids, [], quarantined).problems()
    assert lost[1] == "4 of them were quarantined by the replay: 1 × r1; 1 × r2; 1 × r3"
    both = tally_recovered("t", ids, sorted(ids), quarantined).problems()
    assert both == [
        "4 events of the run are in the quarantine table as well as recovered, e.g. ['a', 'b', 'c']"
    ]
    twice = tally_recovered("t", ids, sorted(ids) * 2, []).problems()
    assert twice == ["4 events are in the recovered table more than once, e.g. ['a', 'b', 'c']"]


def test_the_window_in_time_keeps_milliseconds() -> None:
    assert window_at_risk({}, {}, 100.0, 100.12345)["seconds"] == 0.123
