from __future__ import annotations

import json
from pathlib import Path

import pytest

from kafkalab.operators.scaling import (
    PROGRESS_EVENT,
    drain_figures,
    max_concurrent,
    parallelism_problem,
    phase_facts,
    read_event_log,
    read_stage,
    speedup_figures,
    speedup_problem,
)

TOPIC = "t"


def progress(batch: int, rows: int, start: dict | None, end: dict, at: str, ms: int) -> dict:
    return {
        "Event": PROGRESS_EVENT,
        "progress": {
            "batchId": batch,
            "timestamp": at,
            "durationMs": {"triggerExecution": ms},
            "sources": [
                {
                    "startOffset": json.dumps({TOPIC: start}) if start else None,
                    "endOffset": json.dumps({TOPIC: end}),
                    "numInputRows": rows,
                }
            ],
        },
    }


def job(job_id: int, batch: int, stages: list[int]) -> dict:
    return {
        "Event": "SparkListenerJobStart",
        "Job ID": job_id,
        "Stage IDs": stages,
        "Properties": {"streaming.sql.batchId": str(batch)},
    }


def task(stage: int, partition: int, launched: int, finished: int, records: int) -> dict:
    accumulables = [{"Name": "internal.metrics.input.recordsRead", "Update": records}]
    return {
        "Event": "SparkListenerTaskEnd",
        "Stage ID": stage,
        "Task Info": {
            "Partition ID": partition,
            "Launch Time": launched,
            "Finish Time": finished,
            "Accumulables": accumulables,
        },
    }


def executor(cores: int) -> dict:
    return {"Event": "SparkListenerExecutorAdded", "Executor Info": {"Total Cores": cores}}


def environment(master: str) -> dict:
    return {"Event": "SparkListenerEnvironmentUpdate", "Spark Properties": {"spark.master": master}}


def two_core_log() -> list[dict]:
    """Two batches over partitions 0-2: the first reads all three, two at a time (stage 0;
    stage 1 reads the cached batch, fewer records per task: not the read stage); the second
    reads partition 2 only. An empty third batch is left out."""
    return [
        environment("local[2]"),
        executor(2),
        job(0, 0, [0, 1]),
        task(0, 0, 0, 4000, 100),
        task(0, 1, 10, 4010, 100),
        task(0, 2, 3990, 6000, 100),
        task(1, 0, 6000, 6100, 1),
        task(1, 1, 6000, 6100, 1),
        task(1, 2, 6000, 6100, 1),
        progress(0, 300, None, {"0": 100, "1": 100, "2": 100}, "2026-01-01T00:00:00Z", 7000),
        job(1, 1, [2]),
        task(2, 0, 9000, 9500, 50),
        progress(
            1,
            50,
            {"0": 100, "1": 100, "2": 100},
            {"0": 100, "1": 100, "2": 150},
            "2026-01-01T00:00:08.000Z",
            1000,
        ),
        progress(2, 0, {"2": 150}, {"2": 150}, "2026-01-01T00:00:10Z", 5),
    ]


def test_phase_facts_are_per_batch_partitions_tasks_and_concurrency() -> None:
    facts = phase_facts(two_core_log(), TOPIC, {0: 0, 1: 0, 2: 0})
    assert facts == {
        "master": "local[2]",
        "cores": 2,
        "batches": [
            {
                "batch": 0,
                "rows": 300,
                "started": 1767225600.0,
                "duration_ms": 7000,
                "partitions_advanced": [0, 1, 2],
                "read_tasks": 3,
                "task_records": [100, 100, 100],
                "max_concurrent_tasks": 2,
            },
            {
                "batch": 1,
                "rows": 50,
                "started": 1767225608.0,
                "duration_ms": 1000,
                "partitions_advanced": [2],
                "read_tasks": 1,
                "task_records": [50],
                "max_concurrent_tasks": 1,
            },
        ],
    }


def test_a_first_batch_advances_from_the_phase_start_offsets() -> None:
    # Spark's first progress has no start offset: the phase's snapshot stands in for it.
    facts = phase_facts(two_core_log(), TOPIC, {0: 100, 1: 0, 2: 0})
    assert facts["batches"][0]["partitions_advanced"] == [1, 2]


@pytest.mark.parametrize(
    ("windows", "most"),
    [
        ([], 0),
        ([(0, 1000)], 1),
        # A handover on one core: the next task launched 20 ms before the last one's
        # finish was recorded.
        ([(0, 1000), (980, 2000), (1990, 3000)], 1),
        ([(0, 1000), (500, 1500)], 2),
        ([(0, 1000), (0, 1000), (0, 1000)], 3),
        # Tasks shorter than the slack still count once each.
        ([(0, 50), (0, 50)], 2),
        ([(0, 1000), (790, 1500)], 2),
        ([(0, 1000), (800, 1500)], 1),
    ],
)
def test_tasks_run_at_once_when_their_windows_overlap_past_the_slack(windows, most) -> None:
    assert max_concurrent(windows, slack_ms=200) == most


def test_drain_figures_split_the_first_batch_from_the_steady_state() -> None:
    figures = drain_figures(phase_facts(two_core_log(), TOPIC, {}))
    assert figures == {
        "cores": 2,
        "rows": 350,
        "batches": 2,
        "tasks_per_batch": [3, 1],
        "max_concurrent_tasks": 2,
        "drain_seconds": 9.0,
        "drain_rows_per_second": 38.9,
        "steady_rows_per_second": 50.0,
    }


def test_a_phase_without_batches_has_no_rates() -> None:
    figures = drain_figures({"cores": 1, "batches": []})
    assert figures["rows"] == 0 and figures["drain_rows_per_second"] is None
    assert figures["steady_rows_per_second"] is None and figures["drain_seconds"] is None


def batch(number: int, rows: int, partitions: list[int], tasks: int, at_once: int) -> dict:
    return {
        "batch": number,
        "rows": rows,
        "started": 100.0 + number,
        "duration_ms": 1000,
        "partitions_advanced": partitions,
        "read_tasks": tasks,
        "task_records": [],
        "max_concurrent_tasks": at_once,
    }


def test_a_phase_that_read_most_rows_in_parallel_passes() -> None:
    facts = {
        "master": "local[2]",
        "cores": 2,
        "batches": [batch(0, 600, [0, 1, 2], 3, 2), batch(1, 400, [2], 1, 1)],
    }
    assert parallelism_problem(facts, 3) is None


def test_one_core_fails_naming_the_cores_and_every_batch() -> None:
    facts = {"master": "local[1]", "cores": 1, "batches": [batch(0, 600, [0, 1, 2], 3, 1)]}
    assert parallelism_problem(facts, 3) == (
        "the scaled phase did not read its partitions in parallel: its job had 1 executor "
        "core(s) (spark.master local[1]): it can read one Kafka partition at a time, "
        "whatever the partition count; only 0 of its 600 rows were read by batches that "
        "read all 3 partitions with more than one task at once. Per batch: batch 0: 600 "
        "rows, partitions [0, 1, 2], 3 tasks, at most 1 at once"
    )


def test_a_partition_never_read_fails_naming_it() -> None:
    facts = {"master": "local[2]", "cores": 2, "batches": [batch(0, 600, [0, 1], 2, 2)]}
    assert parallelism_problem(facts, 3) == (
        "the scaled phase did not read its partitions in parallel: partitions [2] never "
        "advanced (advanced: [0, 1]); only 0 of its 600 rows were read by batches that "
        "read all 3 partitions with more than one task at once. Per batch: batch 0: 600 "
        "rows, partitions [0, 1], 2 tasks, at most 2 at once"
    )


def test_parallel_batches_must_carry_half_the_rows() -> None:
    batches = [batch(0, 499, [0, 1, 2], 3, 2), batch(1, 501, [0, 1, 2], 3, 1)]
    problem = parallelism_problem({"master": "m", "cores": 2, "batches": batches}, 3)
    assert problem is not None and "only 499 of its 1000 rows" in problem
    batches[1]["rows"] = 499
    assert parallelism_problem({"master": "m", "cores": 2, "batches": batches}, 3) is None


def test_a_batch_with_fewer_tasks_than_partitions_is_not_parallel_enough() -> None:
    batches = [batch(0, 600, [0, 1, 2], 2, 2)]
    problem = parallelism_problem({"master": "m", "cores": 2, "batches": batches}, 3)
    assert problem is not None and "only 0 of its 600 rows" in problem


def test_a_phase_without_rows_fails() -> None:
    assert parallelism_problem({"cores": 2, "batches": []}, 3) == (
        "the scaled phase read no rows: there is nothing to say about its parallelism"
    )


def facts_at(rate_steady: float, rate_first: float) -> dict:
    """Two batches of 1000 rows: the first at ``rate_first``, the second at ``rate_steady``."""
    first = batch(0, 1000, [0], 1, 1) | {"started": 0.0, "duration_ms": 1e6 / rate_first}
    second = batch(1, 1000, [0], 1, 1) | {
        "started": 1000 / rate_first,
        "duration_ms": 1e6 / rate_steady,
    }
    return {"cores": 1, "batches": [first, second]}


def test_speedups_are_the_scaled_rates_over_the_baselines() -> None:
    figures = speedup_figures(facts_at(100, 50), facts_at(150, 100))
    assert figures["baseline"]["steady_rows_per_second"] == 100.0
    assert figures["scaled"]["steady_rows_per_second"] == 150.0
    assert figures["steady_speedup"] == 1.5
    # 2000 rows in 30 s against 2000 in ~16.7 s.
    assert figures["drain_speedup"] == pytest.approx(120.0 / 66.7, abs=0.001)
    assert speedup_problem(figures, 1.5) is None


def test_a_scaled_phase_below_the_bound_fails_with_both_rates() -> None:
    figures = speedup_figures(facts_at(100, 100), facts_at(40, 100))
    assert speedup_problem(figures, 0.5) == (
        "the scaled phase did not keep up with the baseline (at least 0.5x expected): its "
        "steady-state throughput was 0.4x the baseline's (40.0 vs 100.0 rows/s)"
    )
    assert figures["drain_speedup"] == 0.571


def test_a_phase_without_rates_fails_as_unknown() -> None:
    figures = speedup_figures({"batches": []}, facts_at(100, 100))
    assert speedup_problem(figures, 0.5) == (
        "the scaled phase did not keep up with the baseline (at least 0.5x expected): its "
        "steady-state throughput was unknown against the baseline's (100.0 vs None rows/s); its "
        "backlog drain rate (time for the lag to reach zero) was unknown against the baseline's "
        "(100.0 vs None rows/s)"
    )


def test_the_event_log_is_read_across_rolled_files_in_order(tmp_path: Path) -> None:
    rolled = tmp_path / "eventlog_v2_local-1"
    rolled.mkdir()
    (rolled / "appstatus_local-1").write_text("")
    (rolled / "events_10_local-1").write_text('{"Event": "c"}\n')
    (rolled / "events_2_local-1").write_text('{"Event": "a"}\n\n{"Event": "b"}\n')
    assert [e["Event"] for e in read_event_log(tmp_path)] == ["a", "b", "c"]


def test_a_single_file_event_log_is_read_and_a_missing_one_named(tmp_path: Path) -> None:
    (tmp_path / "local-1").write_text('{"Event": "a"}\n')
    assert read_event_log(tmp_path) == [{"Event": "a"}]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no Spark event log under"):
        read_event_log(empty)


def test_the_read_stage_is_the_one_whose_records_add_up_to_the_batch() -> None:
    kafka = [{"records": 2}, {"records": 2}, {"records": 1}]
    delta_log = [{"records": 17}]
    cache = [{"records": 1}, {"records": 1}, {"records": 1}]
    assert read_stage([delta_log, kafka, cache], rows=5) is kafka
    # No stage adds up (a task's metrics lost): the one that read the most.
    assert read_stage([delta_log, cache], rows=5) is delta_log
    assert read_stage([], rows=5) == []
