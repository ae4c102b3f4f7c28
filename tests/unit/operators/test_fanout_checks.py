"""The fan-out exercise's decisions: independence over the reading windows, a stopped group
and the others, reads in legs, and the ids compared with what the generator acknowledged."""

from __future__ import annotations

import datetime as dt

import pytest

from kafkalab.domain.reconcile import sequence_digest
from kafkalab.domain.schemas import FINANCIAL
from kafkalab.operators import checks
from kafkalab.operators.checks import (
    AcknowledgedSoFarOperator,
    acknowledged_sequence_failure,
    combined_read,
    consumer_views,
    lag_while_reading_failure,
    lag_while_reading_figures,
    reading_windows,
    same_sequences_failure,
    stopped_group_failure,
)
from kafkalab.operators.consumer_group import halfway

T = FINANCIAL.topic
RUN = "r1"
# 2026-01-01 10:00:00 UTC: the messages print wall-clock times of day.
NOON = dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC).timestamp()


def tid(sequence: int) -> str:
    return f"txn-{RUN}-{sequence:09d}"


# --- the Spark group's lag inside the reading windows --------------------------------------


def window(samples: list[tuple[float, int]], start: float = 0, end: float = 10, group="spark"):
    return {
        "group": group,
        "started_at": NOON + start,
        "ended_at": NOON + end,
        "samples": [[NOON + t, lag] for t, lag in samples],
    }


BASELINE = [[NOON - 3, 10], [NOON - 2, 30], [NOON - 1, 20]]


def test_lag_within_the_threshold_of_the_baseline_peak_in_every_window_passes() -> None:
    # Baseline median 20: up to 120 is within a threshold of 100.
    windows = {"g1": window([(0, 5), (5, 120)]), "g2": window([(10, 120)], 10, 20)}
    assert lag_while_reading_failure("spark", 100, windows, BASELINE) is None


def test_a_breach_names_the_reader_the_lag_and_when_against_the_baseline() -> None:
    windows = {
        "g1": window([(0, 5), (5, 100)]),
        "g2": window([(10, 50), (12.5, 1500), (14, 1020), (20, 1800)], 10, 20),
    }
    assert lag_while_reading_failure("spark", 1000, windows, BASELINE) == (
        "group spark fell behind while the new groups read: its lag must stay at most 1020 "
        "(its baseline median + lag_threshold 1000) in every sample of their reads (baseline "
        "before they started: max 30, median 20 of 3 samples):\n"
        "  while g2 read (10:00:10 UTC to 10:00:20 UTC): lag 1500 at 10:00:12 UTC, 2.5s into "
        "its read; 2 of 4 samples above 1020, highest 1800"
    )


def test_samples_outside_the_window_neither_fail_nor_count() -> None:
    # Before and after the read: not evidence about it either way.
    only_outside = {"g1": window([(-1, 5000), (11, 5000)])}
    assert lag_while_reading_failure("spark", 100, only_outside, BASELINE) == (
        "group spark's lag was not measured while the new groups read, so its independence "
        "is not shown (baseline before they started: max 30, median 20 of 3 samples):\n"
        "  no sample of its lag inside the read of g1 (10:00:00 UTC to 10:00:10 UTC)"
    )


def test_without_a_baseline_no_read_can_pass() -> None:
    assert lag_while_reading_failure("spark", 100, {"g1": window([(1, 0)])}, []) == (
        "group spark's lag was not measured while the new groups read, so its independence "
        "is not shown (baseline before they started: max None, median None of 0 samples):\n"
        "  no baseline sample before they started"
    )


def test_no_window_a_read_that_watched_nothing_or_another_group_never_pass() -> None:
    assert lag_while_reading_failure("spark", 100, {}, BASELINE) == (
        "group spark's lag was not measured while the new groups read, so its independence "
        "is not shown (baseline before they started: max 30, median 20 of 3 samples):\n"
        "  no reading window was given"
    )
    windows = {"g1": None, "g2": window([(1, 1)], group="other"), "g3": window([(1, 1)])}
    assert lag_while_reading_failure("spark", 100, windows, BASELINE).splitlines()[1:] == [
        "  the read of g1 sampled no lag",
        "  the read of g2 sampled the lag of other",
    ]


def test_a_breach_is_listed_before_the_unmeasured_reads() -> None:
    windows = {"g1": None, "g2": window([(1, 121)])}
    failure = lag_while_reading_failure("spark", 100, windows, BASELINE)
    assert failure.splitlines()[1:] == [
        "  while g2 read (10:00:00 UTC to 10:00:10 UTC): lag 121 at 10:00:01 UTC, 1.0s into "
        "its read; 1 of 1 samples above 120, highest 121",
        "  the read of g1 sampled no lag",
    ]
    assert failure.startswith("group spark fell behind")


def test_figures_compare_the_baseline_with_the_samples_inside_the_reads() -> None:
    windows = reading_windows(
        {
            "g1": {"watched": window([(-1, 9999), (0, 40), (4, 60)], 0, 4)},
            "g2": {"watched": window([(6, 50)], 5, 8)},
            "g3": {},
        }
    )
    figures = lag_while_reading_figures(windows, BASELINE)
    assert figures == {
        "baseline": {"samples": 3, "max": 30, "median": 20},
        "while_reading": {"samples": 3, "max": 60, "median": 50},
        "reads": {
            "g1": {"seconds": 4.0, "samples": 2, "max": 60, "median": 50.0},
            "g2": {"seconds": 3.0, "samples": 1, "max": 50, "median": 50},
        },
        "samples": [[NOON, 40], [NOON + 4, 60], [NOON + 6, 50]],
    }


# --- one group stopped mid-range, the others finish -----------------------------------------


def stopped(committed: dict[int, int], stop_at=None, target=None) -> dict:
    return {
        "group": "dash",
        "topic": T,
        "stop_at": stop_at or {0: 5, 1: 7},
        "target": target or {0: 10, 1: 14},
        "committed": committed,
    }


OTHERS_DONE = {"audit": {"topic": "c", "committed": {0: 8, 1: 9}, "target": {0: 8, 1: 9}}}


def test_a_group_at_its_stop_point_and_the_others_at_the_target_pass() -> None:
    assert stopped_group_failure(stopped({0: 5, 1: 7}), OTHERS_DONE) is None


def test_a_stopped_group_that_moved_or_others_that_did_not_finish_are_named() -> None:
    others = {"audit": {"topic": "c", "committed": {0: 7}, "target": {0: 8, 1: 9}}}
    assert stopped_group_failure(stopped({0: 10}), others) == (
        "stopping group dash mid-range did not leave it stopped and the others finishing, "
        "by Kafka's committed offsets:\n"
        f"  group dash (stopped) on {T} partition 0: committed 10, expected its stop point 5\n"
        f"  group dash (stopped) on {T} partition 1: committed nothing, expected its stop "
        "point 7\n"
        "  group audit on c partition 0: committed 7, expected at least 8 while dash was "
        "stopped\n"
        "  group audit on c partition 1: committed nothing, expected at least 9 while dash "
        "was stopped"
    )


def test_a_stop_point_at_the_target_is_no_stop_mid_range() -> None:
    at_target = stopped({0: 10, 1: 14}, stop_at={0: 10, 1: 14})
    assert stopped_group_failure(at_target, OTHERS_DONE) == (
        "stopping group dash mid-range did not leave it stopped and the others finishing, "
        "by Kafka's committed offsets:\n"
        "  group dash was not stopped mid-range: its stop point {0: 10, 1: 14} is not before "
        "the target {0: 10, 1: 14} on any partition"
    )


def test_halfway_is_per_partition_between_two_snapshots() -> None:
    start = {"topics": {T: {"0": 10, "1": 4}}}
    end = {"topics": {T: {"0": 21, "1": 4, "2": 6}}}
    assert halfway(start, end, T) == {0: 15, 1: 4, 2: 3}


# --- a read in two legs ---------------------------------------------------------------------


def leg(start: int, to: int, records: list[tuple[int, str]], partition: str = "0") -> dict:
    return {
        "consumed": len(records),
        "partitions": {
            partition: {
                "from": start,
                "to": to,
                "count": len(records),
                "digest": sequence_digest(records),
                "records": [list(r) for r in records],
            }
        },
    }


WHOLE = [(o, tid(o)) for o in range(10)]


def test_two_legs_that_meet_read_the_same_as_one_read() -> None:
    views = consumer_views(
        {"reference": leg(0, 10, WHOLE), "dash": [leg(0, 4, WHOLE[:4]), leg(4, 10, WHOLE[4:])]}
    )
    assert same_sequences_failure(T, views) is None
    assert combined_read([leg(0, 4, WHOLE[:4]), leg(4, 10, WHOLE[4:])])["partitions"]["0"][
        "records"
    ] == [list(r) for r in WHOLE]


def test_a_resumed_leg_that_stopped_short_or_read_again_is_named() -> None:
    views = consumer_views(
        {
            "reference": leg(0, 10, WHOLE),
            "short": [leg(0, 4, WHOLE[:4]), leg(4, 10, WHOLE[4:7])],
            "again": [leg(0, 4, WHOLE[:4]), leg(2, 10, WHOLE[2:])],
        }
    )
    assert same_sequences_failure(T, views) == (
        f"consumers of {T} did not all see the same log:\n"
        "  group short received 7 of the 10 records of partition 0 (offsets [0, 10))\n"
        "  group again received 12 of the 10 records of partition 0 (offsets [0, 10))\n"
        "  partition 0: short saw a different sequence of offsets and event ids than reference\n"
        "  partition 0: again saw a different sequence of offsets and event ids than reference"
    )


def test_legs_without_their_records_cannot_be_combined() -> None:
    bare = {"consumed": 1, "partitions": {"0": {"from": 0, "to": 1, "count": 1, "digest": "d"}}}
    assert combined_read(bare)["partitions"]["0"]["digest"] == "d"
    with pytest.raises(ValueError, match="keep_records=True"):
        combined_read([bare, bare])


# --- the ids against what the generator acknowledged -----------------------------------------


def acked(first: int, last: int, contiguous: bool = True) -> dict:
    return {
        "acknowledged": last - first + 1,
        "first_sequence": first,
        "last_sequence": last,
        "contiguous": contiguous,
    }


def pairs(*sequences: int, partition_offset: int = 100) -> list[list]:
    return [[partition_offset + i, tid(s)] for i, s in enumerate(sequences)]


def test_every_acknowledged_event_once_and_nothing_else_passes() -> None:
    # Acknowledged after the target (8, 9) may or may not be in the window: both pass.
    windows = {"g": {"0": pairs(0, 2, 4, 6), "1": pairs(1, 3, 5, 7, 8)}}
    assert acknowledged_sequence_failure(FINANCIAL, RUN, windows, acked(0, 7), acked(0, 9)) is None


def test_a_duplicate_seen_by_every_consumer_a_missing_and_a_foreign_id_are_named() -> None:
    # A second copy in Kafka: every consumer agrees with every other, the generator does not.
    window = {"0": pairs(0, 1, 1, 3), "1": [*pairs(4, partition_offset=7), [9, "txn-x-1"]]}
    failure = acknowledged_sequence_failure(
        FINANCIAL, RUN, {"g": window, "ref": window}, acked(0, 4), acked(0, 5)
    )
    assert failure == (
        f"consumers of {T} do not hold exactly the events generator run {RUN} acknowledged:\n"
        "  g: 1 events acknowledged before the target snapshot are not in the window "
        "(sequences 2)\n"
        f"  g: 1 events more than once, e.g. {tid(1)} at 0:101 and 0:102\n"
        "  g: 1 records the generator never acknowledged, e.g. txn-x-1 at 1:9\n"
        "  ref: 1 events acknowledged before the target snapshot are not in the window "
        "(sequences 2)\n"
        f"  ref: 1 events more than once, e.g. {tid(1)} at 0:101 and 0:102\n"
        "  ref: 1 records the generator never acknowledged, e.g. txn-x-1 at 1:9"
    )


def test_nothing_acknowledged_before_the_target_or_gaps_in_the_range_never_pass() -> None:
    nothing = {"acknowledged": 0, "first_sequence": None, "last_sequence": None}
    assert acknowledged_sequence_failure(FINANCIAL, RUN, {"g": {}}, nothing, acked(0, 3)) == (
        f"consumers of {T} do not hold exactly the events generator run {RUN} acknowledged:\n"
        f"  the generator had acknowledged no event on {T} before the target snapshot: the "
        "window proves nothing"
    )
    gaps = acknowledged_sequence_failure(
        FINANCIAL, RUN, {"g": {"0": pairs(0, 1)}}, acked(0, 1), acked(0, 3, contiguous=False)
    )
    assert gaps.splitlines()[1:] == [
        f"  the generator's acknowledged sequences on {T} in the end have gaps (first 0, last "
        "3, 4 acknowledged): its id range is not what it had"
    ]


# --- a gap-free generator status -------------------------------------------------------------


def test_the_status_is_read_again_until_its_acknowledged_sequences_have_no_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kafkalab.generator import background

    statuses = iter(
        [
            {"run_id": RUN, "summary": None},
            {"run_id": RUN, "summary": {"topics": {T: acked(0, 5, contiguous=False)}}},
            {"run_id": RUN, "summary": {"topics": {T: acked(0, 6)}}},
        ]
    )

    class Status:
        def __init__(self, value: dict) -> None:
            self.value = value

        def to_dict(self) -> dict:
            return self.value

    monkeypatch.setattr(background, "background_status", lambda s, r: Status(next(statuses)))
    monkeypatch.setattr(checks.time, "sleep", lambda seconds: None)
    status = AcknowledgedSoFarOperator(task_id="a", run_id=RUN).execute({})
    assert status["summary"]["topics"][T]["last_sequence"] == 6


# --- the consumer_stopped_early fault ---------------------------------------------------------


def test_the_fault_names_a_stop_halfway_from_the_groups_commits_and_commits_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kafkalab.hooks.kafka import LabKafkaHook
    from kafkalab.operators.faults import stop_consumer_early

    class Admin:
        def committed_offsets(self, group: str, topics: list[str]) -> dict:
            return {T: {0: 10, 1: 4}}

        def __enter__(self) -> Admin:
            return self

        def __exit__(self, *exc_info: object) -> None:
            pass

        def __getattr__(self, name: str):  # a reset or a commit would be a rewrite
            raise AssertionError(f"the fault must not call {name}")

    monkeypatch.setattr(LabKafkaHook, "__init__", lambda self, *a, **k: None)
    monkeypatch.setattr(LabKafkaHook, "lab_admin", lambda self: Admin())
    target = {"topics": {T: {"0": 20, "1": 4, "2": 6}}}
    assert stop_consumer_early("dash", T, target) == {
        "group": "dash",
        "topics": {T: {0: 15, 1: 4, 2: 3}},
    }


def test_the_limit_is_the_baseline_median_so_a_long_first_tooth_excuses_nothing() -> None:
    # Just caught up: one long micro-batch (1366) before the usual sawtooth (300-600).
    baseline = [[NOON - 9 + i, lag] for i, lag in enumerate([1366, 601, 288, 502, 305, 381])]
    # Frozen: 50 records/s more each second; the median is 441, so 1441 is the limit.
    frozen = {"g": window([(t, 700 + 50 * t) for t in range(20)], 0, 20)}
    failure = lag_while_reading_failure("spark", 1000, frozen, baseline)
    assert failure.splitlines()[1] == (
        "  while g read (10:00:00 UTC to 10:00:20 UTC): lag 1450 at 10:00:15 UTC, 15.0s into "
        "its read; 5 of 20 samples above 1441, highest 1650"
    )
