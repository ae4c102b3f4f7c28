"""Figures the exercises report but do not assert: they never fail a run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from kafkalab.domain.offsets import Offsets, offsets_for


def recovery_figures(
    topic: str, committed_at_pause: Offsets, end_at_recovery_point: Offsets, drain: dict
) -> dict[str, Any]:
    at_risk = sum(
        max(0, o - committed_at_pause.get(p, 0)) for p, o in end_at_recovery_point.items()
    )
    samples = drain.get("samples") or [[0, 0]]
    return {
        "topic": topic,
        "records_at_risk": at_risk,
        "replay_backlog_at_start": samples[0][1],
        "recovery_time_seconds": drain.get("waited_seconds"),
    }


class RecoveryFiguresOperator(BaseOperator):
    """The DR drill's two numbers: what was at risk, and how long recovery took.

    Recovery point: records produced but not yet consumed when the consumer stopped
    (end offsets at the noted recovery point minus the group's committed offsets at
    the pause). Recovery time: how long the replay's lag took to drain.
    """

    template_fields: Sequence[str] = ("at_pause", "recovery_point", "drain")
    ui_color = "#fcf3cf"

    def __init__(
        self, *, topic: str, at_pause: dict, recovery_point: dict, drain: dict, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.at_pause = at_pause
        self.recovery_point = recovery_point
        self.drain = drain

    def execute(self, context: Context) -> dict[str, Any]:
        figures = recovery_figures(
            self.topic,
            offsets_for(self.topic, self.at_pause) or {},
            offsets_for(self.topic, self.recovery_point) or {},
            self.drain,
        )
        self.log.info(
            "recovery point: %d records at risk; recovery time %.1fs",
            figures["records_at_risk"],
            figures["recovery_time_seconds"] or 0,
        )
        return figures


def scaling_figures(phases: dict[str, dict]) -> dict[str, dict[str, Any]]:
    """Per phase: rows the job read, its throughput, and the lag it ran with."""
    figures = {}
    for name, phase in phases.items():
        outcome = (phase.get("job") or {}).get("outcome") or {}
        seconds = outcome.get("processing_seconds") or 0
        samples = (phase.get("lag") or {}).get("samples") or []
        figures[name] = {
            "rows": outcome.get("rows_read"),
            "rows_per_second": round(outcome["rows_read"] / seconds, 1) if seconds else None,
            "max_lag": max((lag for _, lag in samples), default=None),
            "final_lag": samples[-1][1] if samples else None,
        }
    return figures


class ScalingComparisonOperator(BaseOperator):
    """Throughput and lag of the Spark job before and after the partition increase.

    ``phases`` maps a phase name to ``{"job": StopStreamingJob result, "lag": lag sensor
    result}``. Reported, not asserted: on a small machine more partitions need not mean
    more throughput, and the lab guide says "potentially".
    """

    template_fields: Sequence[str] = ("phases",)
    ui_color = "#fcf3cf"

    def __init__(self, *, phases: dict[str, dict], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.phases = phases

    def execute(self, context: Context) -> dict[str, Any]:
        figures = scaling_figures(self.phases)
        self.log.info("scaling comparison: %s", figures)
        return figures
