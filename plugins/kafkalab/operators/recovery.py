"""The DR drill's checks: the pause held, and recovery met its objectives.

The decisions are ``kafkalab.domain.recovery``'s; these operators fetch the facts from
Kafka (committed offsets) and the object store (Delta versions, recovered ids).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.domain.offsets import offsets_for
from kafkalab.domain.recovery import (
    DEFINITIONS,
    JobProgress,
    objectives_failure,
    pause_failure,
    recovery_time,
    tally_recovered,
    window_at_risk,
)
from kafkalab.domain.schemas import STREAMS, stream_for_topic
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.hooks.object_store import ObjectStoreHook
from kafkalab.lake.delta import (
    DeltaTableMissing,
    delta_column_names,
    delta_version,
    read_delta,
)
from kafkalab.operators.checks import acknowledged_ids


class JobProgressOperator(BaseOperator):
    """A streaming job's progress: its group's committed offsets on ``topic``, its lag,
    and its Delta table's newest version.

    ``{"group", "topic", "taken_at", "committed": {partition: offset}, "table_version",
    "lag": snapshot}``; the ``lag`` key as in SnapshotGroupOffsetsOperator's result.
    """

    template_fields: Sequence[str] = ("group", "topic", "path")
    ui_color = "#f4ecf7"

    def __init__(
        self,
        *,
        group: str,
        topic: str,
        path: str,
        object_store_conn_id: str = "lab_object_store",
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.topic = topic
        self.path = path
        self.object_store_conn_id = object_store_conn_id
        self.kafka_config_id = kafka_config_id

    def progress(self) -> dict[str, Any]:
        with LabKafkaHook(self.kafka_config_id).lab_admin() as admin:
            committed = admin.committed_offsets(self.group, [self.topic]).get(self.topic, {})
            version = delta_version(
                ObjectStoreHook(self.object_store_conn_id).get_conn(), self.path
            )
            lag = admin.lag(self.group, [self.topic])
            return {
                "group": self.group,
                "topic": self.topic,
                "taken_at": time.time(),
                "committed": {str(p): o for p, o in sorted(committed.items())},
                "table_version": version,
                "lag": lag.to_dict(),
            }

    def execute(self, context: Context) -> dict[str, Any]:
        progress = self.progress()
        self.log.info(
            "group %s committed %s on %s; Delta table %s at version %s",
            self.group,
            progress["committed"],
            self.topic,
            self.path,
            progress["table_version"],
        )
        return progress


def job_progress(value: dict[str, Any]) -> JobProgress:
    return JobProgress(
        committed={int(p): int(o) for p, o in value["committed"].items()},
        table_version=value["table_version"],
        taken_at=float(value["taken_at"]),
    )


class PauseHeldOperator(JobProgressOperator):
    """The paused job did nothing: neither its committed offsets nor its table moved
    since ``at_pause`` (a JobProgressOperator result).

    A job that keeps running but fails to commit its offsets also makes the lag grow;
    its table's new versions give it away.
    """

    template_fields: Sequence[str] = (*JobProgressOperator.template_fields, "at_pause")
    ui_color = "#d5f5e3"

    def __init__(self, *, at_pause: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.at_pause = at_pause

    def execute(self, context: Context) -> dict[str, Any]:
        now = self.progress()
        failure = pause_failure(
            f"(group {self.group}, table {self.path})",
            job_progress(self.at_pause),
            job_progress(now),
        )
        if failure is not None:
            raise AirflowFailException(failure)
        held = now["taken_at"] - float(self.at_pause["taken_at"])
        self.log.info("the pause held for %.0fs: nothing committed, no new table version", held)
        return {**now, "paused_seconds": round(held, 3)}


class RecoveryObjectivesOperator(BaseOperator):
    """RPO, the window at risk and RTO of a replay, asserted against the objectives.

    The independent source is the generator's summary (the ids it saw acknowledged),
    not Kafka nor the lab's own reader: the recovered table must hold each of them.
    ``at_pause`` is a JobProgressOperator result, ``recovery_point`` an end-offsets
    snapshot, ``replay_start`` the StartStreamingJobOperator result, ``drained`` the
    lag sensor's result once the replay's group reached the recovery point. ``stream``
    names the event schema when the topic's name does not.
    """

    template_fields: Sequence[str] = (
        "path",
        "quarantine_path",
        "generator_summary",
        "at_pause",
        "recovery_point",
        "replay_start",
        "drained",
        "max_rto_seconds",
        "max_window_at_risk_seconds",
    )
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        topic: str,
        path: str,
        quarantine_path: str,
        generator_summary: dict,
        at_pause: dict,
        recovery_point: dict,
        replay_start: dict,
        drained: dict,
        max_rto_seconds: float | str,
        max_window_at_risk_seconds: float | str,
        stream: str | None = None,
        object_store_conn_id: str = "lab_object_store",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.path = path
        self.quarantine_path = quarantine_path
        self.generator_summary = generator_summary
        self.at_pause = at_pause
        self.recovery_point = recovery_point
        self.replay_start = replay_start
        self.drained = drained
        self.max_rto_seconds = max_rto_seconds
        self.max_window_at_risk_seconds = max_window_at_risk_seconds
        self.stream = stream
        self.object_store_conn_id = object_store_conn_id

    def _table(self, path: str, columns: list[str]) -> list[dict[str, Any]]:
        store = ObjectStoreHook(self.object_store_conn_id).get_conn()
        try:
            absent = set(columns) - set(delta_column_names(store, path))
            if absent:
                # A table of another schema (a replay started with the wrong one) holds
                # none of the stream's events.
                self.log.warning("the table at %s has no %s column", path, sorted(absent))
                return []
            return read_delta(store, path, columns).to_pylist()
        except DeltaTableMissing:
            return []  # nothing recovered (or quarantined): every acknowledged id is missing

    def _quarantined(self, run_id: str, id_field: str) -> Iterator[tuple[str, str]]:
        for row in self._table(self.quarantine_path, ["raw_text", "quarantine_reason"]):
            try:
                event = json.loads(row["raw_text"] or "")
            except ValueError:
                continue  # not a record of the run: its quarantine is the replay's job
            if isinstance(event, dict) and event.get("run_id") == run_id:
                yield str(event.get(id_field)), row["quarantine_reason"]

    def execute(self, context: Context) -> dict[str, Any]:
        stream = STREAMS[self.stream] if self.stream else stream_for_topic(self.topic)
        run_id = self.generator_summary["run_id"]
        # A generator summary keys its counts by the stream's own topic name, also when
        # the run wrote to another topic.
        acknowledged = acknowledged_ids(
            stream, run_id, self.generator_summary["topics"][stream.topic]
        )
        rows = self._table(self.path, [stream.id_field, "run_id"])
        recovered = tally_recovered(
            self.topic,
            acknowledged,
            (r[stream.id_field] for r in rows if r["run_id"] == run_id),
            self._quarantined(run_id, stream.id_field),
        )
        window = window_at_risk(
            offsets_for(self.topic, self.at_pause["committed"]) or {},
            offsets_for(self.topic, self.recovery_point) or {},
            float(self.at_pause["taken_at"]),
            float(self.recovery_point["taken_at"]),
        )
        rto = recovery_time(
            float(self.replay_start["requested_at"]), float(self.drained["snapshot"]["taken_at"])
        )
        objectives = {
            "max_rto_seconds": float(self.max_rto_seconds),
            "max_window_at_risk_seconds": float(self.max_window_at_risk_seconds),
        }
        figures = {
            "topic": self.topic,
            "generator_run": run_id,
            "events": recovered.figures(),
            "rpo_events_lost": len(recovered.missing),
            "window_at_risk_records": window["records"],
            "window_at_risk_seconds": window["seconds"],
            "rto_seconds": rto,
            "replay_startup_seconds": round(
                float(self.replay_start["query_started_at"])
                - float(self.replay_start["requested_at"]),
                3,
            ),
            "objectives": objectives,
            "definitions": DEFINITIONS,
        }
        failure = objectives_failure(recovered, window, rto, objectives)
        if failure is not None:
            raise AirflowFailException(failure)
        self.log.info(
            "RPO 0 of %d acknowledged events lost; window at risk %d records over %.0fs; RTO %.1fs",
            len(acknowledged),
            window["records"],
            window["seconds"],
            rto,
        )
        return figures
