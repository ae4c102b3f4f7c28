"""The plugin's page models, built from a report dict and lag snapshots: no stack."""

from __future__ import annotations

import pytest

from kafkalab.domain.lag import LagSnapshot, PartitionLag
from kafkalab.domain.report import REPORT_SCHEMA, format_value
from kafkalab.ui.model import (
    CheckRow,
    Figure,
    GroupLagRow,
    LagHistory,
    Member,
    NotALabReport,
    group_view,
    report_key,
    report_page,
)


def a_report(**changes: object) -> dict:
    report = {
        "schema": REPORT_SCHEMA,
        "title": "Kafka basic ingest",
        "dag_id": "kafka_ingest_basic",
        "run_id": "manual__2026-11-27T05:23:48+00:00",
        "fault": "none",
        "verdict": "passed",
        "failed_tasks": [],
        "checks": [
            {"task": "ingest.generate", "state": "passed", "message": None},
            {
                "task": "verify.fault_duplicate_records",
                "state": "skipped-by-fault",
                "message": None,
            },
            {"task": "verify.records_exactly_once", "state": "passed", "message": None},
        ],
        "headline": [
            {"name": "events acknowledged", "value": 2000, "unit": "events"},
            {"name": "generator rate", "value": 1234.56, "unit": "events/s"},
            {"name": "rejected by the ingestor", "value": None, "unit": "events"},
        ],
        "links": {"full report (JSON)": "s3://lab-reports/kafka_ingest_basic/x/report.json"},
        "figures": {},
        "series": {"lag": {}},
    }
    report.update(changes)
    return report


def test_a_passed_report_shows_every_check_and_the_headline_with_units() -> None:
    page = report_page(a_report())

    assert page.verdict == "PASSED"
    assert page.passed
    assert page.checks == [
        CheckRow("ingest.generate", "passed", "", "passed"),
        CheckRow("verify.fault_duplicate_records", "skipped-by-fault", "", "skipped"),
        CheckRow("verify.records_exactly_once", "passed", "", "passed"),
    ]
    assert page.failing == []
    assert page.headline == [
        Figure("events acknowledged", "2,000", "events"),
        Figure("generator rate", "1,235", "events/s"),
        Figure("rejected by the ingestor", "-", "events"),
    ]
    assert page.lag_series == {}


def test_a_failed_report_lists_the_failing_checks_with_their_messages() -> None:
    checks = [
        {"task": "verify.fault_duplicate_records", "state": "passed", "message": None},
        {
            "task": "verify.records_exactly_once",
            "state": "failed",
            "message": "3 events published more than once\n",
        },
        {"task": "verify.later", "state": "not run: upstream failed", "message": None},
    ]
    page = report_page(a_report(verdict="failed", fault="duplicate_records", checks=checks))

    assert page.verdict == "FAILED"
    assert not page.passed
    assert page.fault == "duplicate_records"
    assert page.failing == [
        CheckRow(
            "verify.records_exactly_once", "failed", "3 events published more than once", "failed"
        ),
        CheckRow("verify.later", "not run: upstream failed", "", "notrun"),
    ]


def test_lag_series_keep_only_named_series_with_samples() -> None:
    series = {"lag": {"spark": [[1.5, 10], [3.5, 0]], "empty": []}}

    page = report_page(a_report(series=series))

    assert page.lag_series == {"spark": [(1.5, 10), (3.5, 0)]}


def test_a_report_without_the_versioned_schema_is_refused_saying_why() -> None:
    old = a_report(run_id="manual__1")
    del old["schema"]

    with pytest.raises(NotALabReport) as refused:
        report_page(old)

    assert str(refused.value) == (
        "the report of run manual__1 has schema None, this view reads 'kafkalab.report/1': "
        "it was written before the report had a versioned shape; run the exercise again "
        "for a report this view can show"
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "-"),
        (True, "true"),
        (12.34, "12.3"),
        (123456.7, "123,457"),
        (1500, "1,500"),
        ("x", "x"),
    ],
)
def test_format_value(value: object, shown: str) -> None:
    assert format_value(value) == shown


def test_report_key_is_where_the_report_operator_writes() -> None:
    assert report_key("d", "r") == "d/r/report.json"
    assert report_key("d", "r", "report.md") == "d/r/report.md"


def test_a_group_shows_the_lag_the_snapshot_computed_per_partition() -> None:
    snapshot = LagSnapshot(
        "g",
        100.0,
        [
            PartitionLag("t", 1, end_offset=50, committed_offset=None, earliest_offset=20),
            PartitionLag("t", 0, end_offset=40, committed_offset=35),
        ],
    )
    member = Member("m-1", "client", "/127.0.0.1", ["t[0]", "t[1]"])

    view = group_view("g", "Stable", [member], snapshot)

    assert view.total_lag == 35
    assert view.partitions == [
        GroupLagRow("t", 0, "35", 40, 5),
        GroupLagRow("t", 1, "-", 50, 30),
    ]
    assert view.members == [member]
    assert view.error is None


def test_a_group_whose_lag_could_not_be_read_says_so() -> None:
    view = group_view("g", "Unknown", [], None, "lag failed: timed out")

    assert (view.total_lag, view.partitions, view.error) == (0, [], "lag failed: timed out")


def snapshot(group: str, at: float, lag: int) -> LagSnapshot:
    return LagSnapshot(group, at, [PartitionLag("t", 0, end_offset=lag, committed_offset=0)])


def test_lag_history_drops_samples_closer_than_the_interval_and_older_than_the_window() -> None:
    history = LagHistory(window_seconds=60, min_interval=2)

    history.record([snapshot("a", 0.0, 5), snapshot("b", 0.0, 1)])
    history.record([snapshot("a", 1.0, 6)])  # too soon after the last one: dropped
    history.record([snapshot("a", 30.0, 7)])
    history.record([snapshot("a", 70.0, 8)])

    assert history.series("a", now=70.0) == [(30.0, 7), (70.0, 8)]
    assert history.series("b", now=30.0) == [(0.0, 1)]
    assert history.series("unknown", now=70.0) == []


def test_lag_history_keeps_at_most_max_samples() -> None:
    history = LagHistory(min_interval=0, max_samples=3)

    history.record([snapshot("a", float(t), t) for t in range(5)])

    assert history.series("a", now=5.0) == [(2.0, 2), (3.0, 3), (4.0, 4)]
