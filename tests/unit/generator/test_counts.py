"""The run summary: its JSON keys are read by checks, XCom consumers and reports."""

from __future__ import annotations

import datetime as dt
import json

from kafkalab.domain.schemas import FINANCIAL, INSURANCE
from kafkalab.generator.counts import MAX_ERRORS_KEPT, RunCounts

STARTED = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def summarise(counts: RunCounts, elapsed: float = 2.0):
    return counts.summary(
        run_id="r1", target="http", state="finished", started_at=STARTED, elapsed_seconds=elapsed
    )


def test_the_summary_keeps_its_keys_and_their_order() -> None:
    counts = RunCounts()
    counts["financial"].sent = 3
    counts["financial"].acknowledge([0, 1, 2])
    document = json.loads(summarise(counts).to_json())
    assert list(document) == [
        "run_id",
        "target",
        "state",
        "started_at",
        "elapsed_seconds",
        "sent",
        "acknowledged",
        "rejected",
        "unacknowledged",
        "retries",
        "events_per_second",
        "topics",
        "errors",
        "request_latency",
        "acknowledged_per_second",
    ]
    assert list(document["topics"]) == [FINANCIAL.topic, INSURANCE.topic]
    assert document["topics"][FINANCIAL.topic] == {
        "sent": 3,
        "acknowledged": 3,
        "rejected": 0,
        "unacknowledged": 0,
        "retries": 0,
        "first_sequence": 0,
        "last_sequence": 2,
        "first_id": "txn-r1-000000000",
        "last_id": "txn-r1-000000002",
        "contiguous": True,
    }
    assert document["topics"][INSURANCE.topic] == {
        "sent": 0,
        "acknowledged": 0,
        "rejected": 0,
        "unacknowledged": 0,
        "retries": 0,
        "first_sequence": None,
        "last_sequence": None,
        "contiguous": True,
    }


def test_totals_add_up_the_streams_and_the_rate_counts_acknowledged_events() -> None:
    counts = RunCounts()
    counts["financial"].acknowledge(range(10))
    counts["insurance"].acknowledge(range(6))
    counts["insurance"].rejected = 2
    counts["insurance"].unacknowledged = 1
    counts["financial"].retries = 4
    summary = summarise(counts, elapsed=4.0)
    assert (summary.acknowledged, summary.rejected, summary.unacknowledged, summary.retries) == (
        16,
        2,
        1,
        4,
    )
    assert summary.events_per_second == 4.0
    assert "acknowledged 16" in summary.line()


def test_a_gap_in_acknowledged_sequences_is_not_contiguous() -> None:
    counts = RunCounts()
    counts["insurance"].acknowledge([0, 1, 3])
    figures = summarise(counts).topics[INSURANCE.topic]
    assert figures["contiguous"] is False
    assert figures["last_id"] == "clm-r1-000000003"


def test_errors_are_capped_and_the_summary_shows_the_last_ten() -> None:
    counts = RunCounts()
    for n in range(MAX_ERRORS_KEPT + 5):
        counts.note_error(f"error {n}")
    assert len(counts.errors) == MAX_ERRORS_KEPT
    assert summarise(counts).errors == [f"error {n}" for n in range(990, 1000)]


def test_request_latency_comes_after_the_older_keys_and_shows_in_the_line() -> None:
    counts = RunCounts()
    assert summarise(counts).request_latency["requests"] == 0
    assert "request p50" not in summarise(counts).line()
    for ms in (2, 4, 40):
        counts.request_latency.record(ms / 1000)
    summary = summarise(counts)
    assert summary.request_latency == {"requests": 3, "p50_ms": 4.0, "p99_ms": 40.0, "max_ms": 40.0}
    assert "request p50 4.0 ms p99 40.0 ms" in summary.line()


def test_acknowledgements_are_counted_per_wall_clock_second_across_streams(monkeypatch) -> None:
    import kafkalab.generator.counts as counts_module

    clock = iter([1000.2, 1000.9, 1003.5])
    monkeypatch.setattr(counts_module.time, "time", lambda: next(clock))
    counts = RunCounts()
    counts["financial"].acknowledge([0, 1])
    counts["insurance"].acknowledge([0])
    counts["financial"].acknowledge([2, 3, 4])
    counts["financial"].acknowledge([])  # nothing new: no second recorded
    assert summarise(counts).acknowledged_per_second == {"start": 1000, "counts": [3, 0, 0, 3]}


def test_a_run_without_acknowledgements_has_an_empty_series() -> None:
    assert summarise(RunCounts()).acknowledged_per_second == {"start": None, "counts": []}
