from __future__ import annotations

from kafkalab.operators.figures import recovery_figures, scaling_figures


def test_records_at_risk_are_end_offsets_past_the_commits_at_the_pause() -> None:
    drain = {"samples": [[1.0, 30], [2.0, 0]], "waited_seconds": 4.5}
    figures = recovery_figures("t", {0: 10, 1: 20}, {0: 15, 1: 18, 2: 7}, drain)
    assert figures == {
        "topic": "t",
        "records_at_risk": 5 + 0 + 7,
        "replay_backlog_at_start": 30,
        "recovery_time_seconds": 4.5,
    }


def test_a_drain_without_samples_reports_no_backlog_and_no_time() -> None:
    figures = recovery_figures("t", {}, {}, {})
    assert figures["replay_backlog_at_start"] == 0 and figures["recovery_time_seconds"] is None


def test_scaling_figures_give_throughput_and_lag_per_phase() -> None:
    phases = {
        "before": {
            "job": {"outcome": {"rows_read": 1000, "processing_seconds": 8}},
            "lag": {"samples": [[0, 50], [1, 120], [2, 10]]},
        },
        "after": {"job": {"outcome": {"rows_read": 0, "processing_seconds": 0}}, "lag": {}},
    }
    assert scaling_figures(phases) == {
        "before": {"rows": 1000, "rows_per_second": 125.0, "max_lag": 120, "final_lag": 10},
        "after": {"rows": 0, "rows_per_second": None, "max_lag": None, "final_lag": None},
    }


def test_throughput_is_rounded_and_a_phase_without_a_job_or_lag_has_no_figures() -> None:
    phases = {
        "before": {
            "job": {"outcome": {"rows_read": 1000, "processing_seconds": 3}},
            "lag": {"samples": [[0, 7], [1, 3]]},
        },
        "after": {"job": None, "lag": None},
        "empty": {},
    }
    assert scaling_figures(phases) == {
        "before": {"rows": 1000, "rows_per_second": 333.3, "max_lag": 7, "final_lag": 3},
        "after": {"rows": None, "rows_per_second": None, "max_lag": None, "final_lag": None},
        "empty": {"rows": None, "rows_per_second": None, "max_lag": None, "final_lag": None},
    }


def test_nothing_is_at_risk_when_the_commits_had_reached_the_end() -> None:
    figures = recovery_figures("t", {0: 15, 1: 20}, {0: 15, 1: 18}, {"samples": [[3.0, 12]]})
    assert figures == {
        "topic": "t",
        "records_at_risk": 0,
        "replay_backlog_at_start": 12,
        "recovery_time_seconds": None,
    }
