from __future__ import annotations

import json

from kafkalab.domain.schemas import FINANCIAL
from kafkalab.kafka.ranges import Record
from kafkalab.operators.checks import (
    RunRecords,
    acknowledged_ids,
    consumer_views,
    generator_run_failure,
    groups_caught_up_failure,
    ingestor_health_failure,
    new_records_per_partition,
    partition_spread_failure,
    same_sequences_failure,
    tally_run_records,
)
from tests.support.events import LAB_GUIDE_TRANSACTION

RUN = "r1"
T = FINANCIAL.topic


# --- ingestor health -----------------------------------------------------------------------


def test_a_healthy_ingestor_passes() -> None:
    assert ingestor_health_failure("http://i:8000", 200, "{}") is None


def test_an_unhealthy_ingestor_is_named_with_its_answer() -> None:
    assert ingestor_health_failure("http://i:8000", 503, "kafka unreachable") == (
        "the ingestor at http://i:8000 is not healthy: 503 kafka unreachable"
    )


# --- the generator run is in Kafka exactly once ---------------------------------------------


def run_record(sequence: int, offset: int, **changes: object) -> Record:
    event = {
        **LAB_GUIDE_TRANSACTION,
        "transaction_id": f"txn-{RUN}-{sequence:09d}",
        "run_id": RUN,
        "sequence": sequence,
        **changes,
    }
    return Record(0, offset, b"ACC-1", json.dumps(event).encode(), 0)


ACKNOWLEDGED = {"acknowledged": 4, "first_sequence": 0, "last_sequence": 3}


def tally(records: list[Record], sample_size: int = 2) -> RunRecords:
    return tally_run_records(FINANCIAL, RUN, ACKNOWLEDGED, records, sample_size)


def test_acknowledged_ids_are_the_runs_sequenced_ids() -> None:
    assert acknowledged_ids(FINANCIAL, RUN, ACKNOWLEDGED) == {
        f"txn-r1-00000000{s}" for s in range(4)
    }
    assert acknowledged_ids(FINANCIAL, RUN, {"acknowledged": 0}) == set()


def test_every_acknowledged_event_once_passes_and_reports_figures() -> None:
    others = [
        Record(0, 0, None, b"not json", 0),
        Record(0, 1, None, None, 0),
        Record(0, 2, None, json.dumps({**LAB_GUIDE_TRANSACTION, "run_id": "other"}).encode(), 0),
    ]
    found = tally(others + [run_record(s, 3 + s) for s in range(4)])
    assert generator_run_failure(RUN, [found]) is None
    figures = found.figures()
    assert (figures["acknowledged"], figures["found"], figures["distinct"]) == (4, 4, 4)
    assert [s["offset"] for s in figures["sample"]] == [3, 4]
    assert figures["sample"][0]["key"] == "ACC-1"


def test_missing_duplicated_and_invalid_events_are_each_named() -> None:
    records = [run_record(0, 0), run_record(0, 1), run_record(3, 2, amount=-5)]
    failure = generator_run_failure(RUN, [tally(records)])
    assert failure is not None
    lines = failure.splitlines()
    assert lines[0] == "generator run r1: Kafka does not hold what was acknowledged:"
    assert lines[1] == f"  {T}: 2 acknowledged events missing (sequences 1-2)"
    assert lines[2] == f"  {T}: 1 events published more than once, e.g. ['txn-r1-000000000']"
    assert lines[3].startswith(f'  {T}: 1 records fail the schema, e.g. ["offset 0:2: ')
    assert "'loc': ('amount',)" in lines[3]


# --- consumers saw the same log ------------------------------------------------------------


def group_result(digests: dict[str, str], count: int = 10) -> dict:
    return {
        "consumed": count * len(digests),
        "partitions": {
            p: {"digest": d, "count": count, "from": 0, "to": 10} for p, d in digests.items()
        },
    }


def test_consumers_with_the_same_digests_pass() -> None:
    views = consumer_views(
        {
            "g1": group_result({"0": "a", "1": "b"}),
            "spark": {"digests": {"0": "a", "1": "b"}, "present": 20},
        }
    )
    assert same_sequences_failure(T, views) is None
    assert views.received == {"g1": 20, "spark": 20}


def test_a_short_read_and_a_different_sequence_are_named() -> None:
    views = consumer_views(
        {"g1": group_result({"0": "a", "1": "b"}), "g2": group_result({"0": "a", "1": "x"}, 7)}
    )
    assert same_sequences_failure(T, views) == (
        f"consumers of {T} did not all see the same log:\n"
        "  group g2 received 7 of the 10 records of partition 0 (offsets [0, 10))\n"
        "  group g2 received 7 of the 10 records of partition 1 (offsets [0, 10))\n"
        "  partition 1: g2 saw a different sequence of offsets and event ids than g1"
    )


# --- new records on every partition --------------------------------------------------------


def test_new_records_on_every_expected_partition_pass() -> None:
    new = new_records_per_partition({0: 5, 1: 5, 2: 5}, {0: 9, 1: 6, 2: 7, 3: 2})
    assert new == {0: 4, 1: 1, 2: 2, 3: 2}
    assert partition_spread_failure(T, new, 4) is None


def test_an_idle_partition_or_a_missing_one_is_named() -> None:
    assert partition_spread_failure(T, {0: 4, 1: 0, 2: 2}, 3) == (
        f"{T}: expected new records on all 3 partitions, but the topic has 3 partitions "
        "and these received none: [1] (new records per partition: {0: 4, 1: 0, 2: 2})"
    )
    failure = partition_spread_failure(T, {0: 4, 1: 3, 2: 2}, 6)
    assert failure is not None
    assert "expected new records on all 6 partitions, but the topic has 3 partitions" in failure
    assert "received none: - " in failure


# --- groups committed up to the target -----------------------------------------------------


def test_groups_at_or_past_the_target_pass() -> None:
    progress = {"g1": {"topic": T, "committed": {0: 10, 1: 12}, "target": {0: 10, 1: 11}}}
    assert groups_caught_up_failure(progress) is None


def test_a_group_behind_or_never_committed_is_named_per_partition() -> None:
    progress = {
        "g1": {"topic": T, "committed": {0: 10, 1: 12}, "target": {0: 10, 1: 11}},
        "g2": {"topic": T, "committed": {0: 4}, "target": {0: 10, 1: 11}},
    }
    assert groups_caught_up_failure(progress) == (
        "not every group received every message:\n"
        f"  group g2 on {T} partition 0: committed 4, expected at least 10\n"
        f"  group g2 on {T} partition 1: committed nothing, expected at least 11"
    )


def test_the_sample_keeps_each_records_place_key_and_event() -> None:
    keyless = Record(1, 7, None, run_record(1, 0).value, 0)
    found = tally([Record(0, 0, None, b"[1, 2]", 0), run_record(0, 5), keyless], sample_size=5)
    event = json.loads(run_record(0, 5).value or b"")
    assert found.sample == [
        {"partition": 0, "offset": 5, "key": "ACC-1", "event": event},
        {"partition": 1, "offset": 7, "key": "", "event": {**event, **_ids(1)}},
    ]
    assert tally([run_record(0, 0)], sample_size=0).sample == []


def _ids(sequence: int) -> dict:
    return {"transaction_id": f"txn-{RUN}-{sequence:09d}", "sequence": sequence}


def test_figures_count_every_copy_and_each_distinct_event() -> None:
    found = tally([run_record(0, 0), run_record(0, 1), run_record(1, 2)])
    assert found.figures() == {
        "acknowledged": 4,
        "found": 3,
        "distinct": 2,
        "sample": found.sample,
    }
    assert found.seen == {"txn-r1-000000000": 2, "txn-r1-000000001": 1}


def test_duplicates_and_invalid_records_are_shown_a_few_at_a_time() -> None:
    records = [run_record(s, 2 * s + i) for s in range(4) for i in range(2)]
    records += [run_record(s, 6 + s, amount=-s) for s in range(4, 7)]
    problems = tally(records).problems()
    assert problems[0] == (
        f"{T}: 4 events published more than once, e.g. "
        "['txn-r1-000000000', 'txn-r1-000000001', 'txn-r1-000000002']"
    )
    assert problems[1].startswith(f'{T}: 3 records fail the schema, e.g. ["offset 0:10: ')
    assert "offset 0:11: " in problems[1] and "offset 0:12: " not in problems[1]
    assert len(problems) == 2  # every acknowledged event is there
    assert tally([run_record(s, s) for s in range(4)]).problems() == []


def test_a_missing_partition_in_another_consumers_view_is_a_different_sequence() -> None:
    views = consumer_views(
        {"g1": group_result({"0": "a", "1": "b"}), "spark": {"digests": {"0": "a"}, "present": 10}}
    )
    assert same_sequences_failure(T, views) == (
        f"consumers of {T} did not all see the same log:\n"
        "  partition 1: spark saw a different sequence of offsets and event ids than g1"
    )


def test_a_partition_never_committed_on_is_behind_even_a_target_of_zero() -> None:
    progress = {"g": {"topic": T, "committed": {}, "target": {0: 0}}}
    assert groups_caught_up_failure(progress) == (
        "not every group received every message:\n"
        f"  group g on {T} partition 0: committed nothing, expected at least 0"
    )
    committed_zero = {"g": {"topic": T, "committed": {0: 0}, "target": {0: 0, 1: 1}}}
    assert groups_caught_up_failure(committed_zero) == (
        "not every group received every message:\n"
        f"  group g on {T} partition 1: committed nothing, expected at least 1"
    )


def test_a_partition_with_a_negative_count_is_idle_and_an_extra_one_fails() -> None:
    assert partition_spread_failure(T, {0: 1, 1: -2}, 2) == (
        f"{T}: expected new records on all 2 partitions, but the topic has 2 partitions "
        "and these received none: [1] (new records per partition: {0: 1, 1: -2})"
    )
    assert partition_spread_failure(T, {0: 1, 1: 1, 2: 1}, 2) == (
        f"{T}: expected new records on all 2 partitions, but the topic has 3 partitions "
        "and these received none: - (new records per partition: {0: 1, 1: 1, 2: 1})"
    )


def test_acknowledged_ids_start_at_the_runs_first_sequence() -> None:
    later = {"acknowledged": 2, "first_sequence": 5, "last_sequence": 6}
    assert acknowledged_ids(FINANCIAL, RUN, later) == {"txn-r1-000000005", "txn-r1-000000006"}
