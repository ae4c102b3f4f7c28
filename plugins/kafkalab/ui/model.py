"""What the plugin's pages show, built from plain facts: pure, no client, no Airflow.

A report page from a ``kafkalab.report/1`` dict (domain.report writes it); the Kafka
page from cluster metadata and ``LagSnapshot``s (the lag sensor's own figures); the
lag-over-time history as a small ring of samples per group.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafkalab.domain.lag import LagSnapshot
from kafkalab.domain.report import (
    FAILED,
    PASSED,
    REPORT_SCHEMA,
    SKIPPED_BY_FAULT,
    format_value,
)

# A row's look: the CSS class of its state.
ROW_CLASSES = {PASSED: "passed", FAILED: "failed", SKIPPED_BY_FAULT: "skipped"}


class NotALabReport(ValueError):
    """The object is not a report this page can read (another schema, or none)."""


@dataclass(frozen=True)
class CheckRow:
    task: str
    state: str
    message: str
    css: str


@dataclass(frozen=True)
class Figure:
    name: str
    value: str
    unit: str


@dataclass(frozen=True)
class ReportPage:
    title: str
    dag_id: str
    run_id: str
    fault: str
    verdict: str
    checks: list[CheckRow]
    failing: list[CheckRow]
    headline: list[Figure]
    links: dict[str, str]
    lag_series: dict[str, list[tuple[float, int]]]

    @property
    def passed(self) -> bool:
        return self.verdict == PASSED.upper()


def report_page(report: Mapping[str, Any]) -> ReportPage:
    """The Lab report view of one run: verdict, one row per check, headline figures."""
    schema = report.get("schema")
    if schema != REPORT_SCHEMA:
        raise NotALabReport(
            f"the report of run {report.get('run_id', '?')} has schema {schema!r}, this view "
            f"reads {REPORT_SCHEMA!r}: it was written before the report had a versioned shape; "
            "run the exercise again for a report this view can show"
        )
    checks = [
        CheckRow(
            task=row["task"],
            state=row["state"],
            message=(row.get("message") or "").strip(),
            css=ROW_CLASSES.get(row["state"], "notrun"),
        )
        for row in report["checks"]
    ]
    series = (report.get("series") or {}).get("lag") or {}
    return ReportPage(
        title=report["title"],
        dag_id=report["dag_id"],
        run_id=report["run_id"],
        fault=str(report.get("fault") or "none"),
        verdict=str(report["verdict"]).upper(),
        checks=checks,
        failing=[row for row in checks if row.css in ("failed", "notrun")],
        headline=[
            Figure(f["name"], format_value(f["value"]), f.get("unit") or "")
            for f in report.get("headline") or []
        ],
        links=dict(report.get("links") or {}),
        lag_series={
            name: [(float(t), int(v)) for t, v in samples]
            for name, samples in series.items()
            if samples
        },
    )


def report_key(dag_id: str, run_id: str, name: str = "report.json") -> str:
    """Where the report operator writes a run's files in the reports bucket."""
    return f"{dag_id}/{run_id}/{name}"


# --- the Kafka page ------------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionRow:
    partition: int
    leader: int
    replicas: list[int]
    isr: list[int]
    end_offset: int | None

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)


@dataclass(frozen=True)
class TopicRow:
    name: str
    partitions: list[PartitionRow]

    @property
    def end_offsets_total(self) -> int:
        return sum(p.end_offset or 0 for p in self.partitions)


@dataclass(frozen=True)
class Member:
    member_id: str
    client_id: str
    host: str
    assignment: list[str]


@dataclass(frozen=True)
class GroupLagRow:
    topic: str
    partition: int
    committed: str
    end_offset: int
    lag: int


@dataclass(frozen=True)
class GroupView:
    group: str
    state: str
    members: list[Member]
    total_lag: int
    partitions: list[GroupLagRow]
    error: str | None = None


def group_view(
    group: str, state: str, members: list[Member], snapshot: LagSnapshot | None, error: str = ""
) -> GroupView:
    """One consumer group: its lag rows exactly as the snapshot computed them (the lag
    sensor's own figures, the layout of `kafka-consumer-groups --describe`)."""
    rows = [
        GroupLagRow(
            topic=p.topic,
            partition=p.partition,
            committed="-" if p.committed_offset is None else str(p.committed_offset),
            end_offset=p.end_offset,
            lag=p.lag,
        )
        for p in sorted(
            snapshot.partitions if snapshot else [], key=lambda p: (p.topic, p.partition)
        )
    ]
    return GroupView(
        group=group,
        state=state,
        members=members,
        total_lag=snapshot.total if snapshot else 0,
        partitions=rows,
        error=error or None,
    )


@dataclass
class LagHistory:
    """The last minutes of each group's total lag: a ring of (time, lag) samples.

    Sampled whenever the Kafka page is polled; samples closer than ``min_interval``
    to the previous one are dropped, so several open pages do not crowd the ring.
    """

    window_seconds: float = 600.0
    min_interval: float = 2.0
    max_samples: int = 600
    samples: dict[str, deque[tuple[float, int]]] = field(default_factory=dict)

    def record(self, snapshots: Iterable[LagSnapshot]) -> None:
        for snapshot in snapshots:
            ring = self.samples.setdefault(snapshot.group, deque(maxlen=self.max_samples))
            if ring and snapshot.taken_at - ring[-1][0] < self.min_interval:
                continue
            ring.append((snapshot.taken_at, snapshot.total))

    def series(self, group: str, now: float | None = None) -> list[tuple[float, int]]:
        """The group's samples of the last ``window_seconds``, oldest first."""
        since = (time.time() if now is None else now) - self.window_seconds
        return [(t, lag) for t, lag in self.samples.get(group, ()) if t >= since]
