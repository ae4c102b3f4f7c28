from __future__ import annotations

from kafkalab.domain.throughput import steady_rate, throughput
from kafkalab.spark.jobs import batch_timings


def test_the_first_batch_is_apart_from_the_steady_state_and_idle_triggers_do_not_count() -> None:
    figures = throughput([(0, 0.4), (2000, 20.0), (1000, 2.0), (0, 0.3), (3000, 4.0)])
    assert figures == {
        "first_batch_rows": 2000,
        "first_batch_s": 20.0,
        "steady_batches": 2,
        "steady_rows": 4000,
        "steady_s": 6.0,
        "steady_rows_per_s": 666.7,
        "total_rows": 6000,
        "total_s": 26.0,
        "total_rows_per_s": 230.8,
    }


def test_one_batch_has_no_steady_state_and_no_batch_no_rate() -> None:
    assert steady_rate([(500, 1.0)]) is None
    assert throughput([(500, 2.0)])["total_rows_per_s"] == 250.0
    nothing = throughput([])
    assert nothing["first_batch_rows"] is None and nothing["total_rows_per_s"] is None
    assert nothing["steady_rows_per_s"] is None and nothing["steady_batches"] == 0


def test_a_jobs_closing_summary_gives_rows_and_trigger_to_commit_seconds() -> None:
    summary = {
        "batches": [
            {"batch": 0, "rows": 10, "duration_ms": {"triggerExecution": 1500, "addBatch": 9}},
            {"batch": 1, "rows": 0, "duration_ms": {}},
        ]
    }
    assert batch_timings(summary) == [(10, 1.5), (0, 0.0)]
    assert batch_timings(None) == [] and batch_timings({"batches": None}) == []
