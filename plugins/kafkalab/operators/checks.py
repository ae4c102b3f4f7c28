"""Checks the exercises assert: each returns its figures, or fails naming what is wrong."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException
from pydantic import ValidationError

from kafkalab.domain.offsets import offsets_for
from kafkalab.domain.reconcile import compress_offsets
from kafkalab.domain.schemas import STREAMS
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.kafka.ranges import read_between
from kafkalab.operators.generator import ingestor_url


class IngestorHealthOperator(BaseOperator):
    """The ingestor answers /health and reaches Kafka."""

    ui_color = "#ebf5fb"

    def __init__(self, *, ingestor_conn_id: str = "lab_ingestor", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ingestor_conn_id = ingestor_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        url = ingestor_url(self.ingestor_conn_id)
        try:
            response = httpx.get(f"{url}/health", timeout=10)
        except httpx.HTTPError as exc:
            raise AirflowFailException(
                f"the ingestor at {url} is not reachable ({exc}); start it with `./lab up` "
                "and look at `./lab logs ingestor`"
            ) from exc
        if response.status_code != 200:
            raise AirflowFailException(
                f"the ingestor at {url} is not healthy: {response.status_code} {response.text}"
            )
        return {"url": url, **response.json()}


class VerifyGeneratorRunOperator(BaseOperator):
    """Every event the generator had acknowledged is in its topic exactly once, and valid.

    Reads each topic between two end-offset snapshots, keeps the records of the
    generator run, and compares their ids with the run's acknowledged sequence range.
    Every record of the run is validated against the shared schema; a sample is
    returned for the report.
    """

    template_fields: Sequence[str] = ("generator_summary", "before", "after")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        generator_summary: dict,
        before: dict,
        after: dict,
        sample_size: int = 5,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.generator_summary = generator_summary
        self.before = before
        self.after = after
        self.sample_size = sample_size
        self.kafka_config_id = kafka_config_id

    def execute(self, context: Context) -> dict[str, Any]:
        bootstrap = LabKafkaHook(self.kafka_config_id).bootstrap_servers
        run_id = self.generator_summary["run_id"]
        problems: list[str] = []
        figures: dict[str, Any] = {}
        for stream in STREAMS.values():
            acknowledged = self.generator_summary["topics"][stream.topic]
            expected: set[str] = set()
            if acknowledged["acknowledged"]:
                expected = {
                    f"{stream.id_prefix}-{run_id}-{sequence:09d}"
                    for sequence in range(
                        acknowledged["first_sequence"], acknowledged["last_sequence"] + 1
                    )
                }
            seen: Counter = Counter()
            invalid: list[str] = []
            sample: list[dict] = []
            for record in read_between(
                bootstrap,
                stream.topic,
                offsets_for(stream.topic, self.before) or {},
                offsets_for(stream.topic, self.after) or {},
            ):
                try:
                    event = json.loads(record.value)
                except (TypeError, ValueError):
                    continue  # another producer's record: not this run's business
                if not isinstance(event, dict) or event.get("run_id") != run_id:
                    continue
                seen[event.get(stream.id_field)] += 1
                try:
                    stream.model.model_validate(event)
                except ValidationError as exc:
                    invalid.append(f"offset {record.partition}:{record.offset}: {exc.errors()[0]}")
                if len(sample) < self.sample_size:
                    sample.append(
                        {
                            "partition": record.partition,
                            "offset": record.offset,
                            "key": (record.key or b"").decode(),
                            "event": event,
                        }
                    )
            missing = sorted(expected - set(seen))
            duplicated = {i: n for i, n in seen.items() if n > 1}
            if missing:
                sequences = [int(i.rsplit("-", 1)[1]) for i in missing]
                problems.append(
                    f"{stream.topic}: {len(missing)} acknowledged events missing "
                    f"(sequences {compress_offsets(sequences)})"
                )
            if duplicated:
                problems.append(
                    f"{stream.topic}: {len(duplicated)} events published more than "
                    f"once, e.g. {sorted(duplicated)[:3]}"
                )
            if invalid:
                problems.append(
                    f"{stream.topic}: {len(invalid)} records fail the schema, e.g. {invalid[:2]}"
                )
            figures[stream.topic] = {
                "acknowledged": len(expected),
                "found": sum(seen.values()),
                "distinct": len(seen),
                "sample": sample,
            }
        if problems:
            raise AirflowFailException(
                f"generator run {run_id}: Kafka does not hold what was acknowledged:\n  "
                + "\n  ".join(problems)
            )
        return figures


class CompareSequencesOperator(BaseOperator):
    """Every consumer saw every record of its range, and all saw the same sequences.

    ``sequences`` maps a consumer's name to a ConsumerGroupRunOperator result, or to a
    DeltaReconcileOperator summary with digests (the Spark job's view of the range).
    """

    template_fields: Sequence[str] = ("sequences",)
    ui_color = "#d5f5e3"

    def __init__(self, *, topic: str, sequences: dict[str, dict], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.sequences = sequences

    def execute(self, context: Context) -> dict[str, Any]:
        digests: dict[str, dict[str, str]] = {}
        received: dict[str, int] = {}
        problems = []
        for name, result in self.sequences.items():
            if "digests" in result:  # the Spark job's Delta table, already reconciled
                digests[name] = result["digests"]
                received[name] = result["present"]
                continue
            digests[name] = {p: s["digest"] for p, s in result["partitions"].items()}
            received[name] = result["consumed"]
            for partition, s in sorted(result["partitions"].items()):
                if s["count"] != s["to"] - s["from"]:
                    problems.append(
                        f"group {name} received {s['count']} of the {s['to'] - s['from']} "
                        f"records of partition {partition} (offsets [{s['from']}, {s['to']}))"
                    )
        reference_name, reference = next(iter(digests.items()))
        for name, by_partition in digests.items():
            for partition, digest in sorted(reference.items()):
                if by_partition.get(partition) != digest:
                    problems.append(
                        f"partition {partition}: {name} saw a different sequence of offsets and "
                        f"event ids than {reference_name}"
                    )
        if problems:
            raise AirflowFailException(
                f"consumers of {self.topic} did not all see the same log:\n  "
                + "\n  ".join(problems)
            )
        return {
            "topic": self.topic,
            "records_per_consumer": received,
            "partitions_compared": len(reference),
            "consumers": sorted(digests),
        }


class PartitionSpreadOperator(BaseOperator):
    """New records landed on every partition (after a partition increase, the new ones too)."""

    template_fields: Sequence[str] = ("topic", "before", "after", "expected_partitions")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        topic: str,
        before: dict,
        after: dict,
        expected_partitions: int | str,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.before = before
        self.after = after
        self.expected_partitions = expected_partitions

    def execute(self, context: Context) -> dict[str, Any]:
        before = offsets_for(self.topic, self.before) or {}
        after = offsets_for(self.topic, self.after) or {}
        new = {p: end - before.get(p, 0) for p, end in sorted(after.items())}
        expected = int(self.expected_partitions)
        idle = [p for p, n in new.items() if n <= 0]
        if len(after) != expected or idle:
            raise AirflowFailException(
                f"{self.topic}: expected new records on all {expected} partitions, but the topic "
                f"has {len(after)} partitions and these received none: {idle or '-'} "
                f"(new records per partition: {new})"
            )
        return {"topic": self.topic, "partitions": len(after), "new_records_per_partition": new}


class GroupsCaughtUpOperator(BaseOperator):
    """Kafka's own record of each group: committed offsets reached the target snapshot.

    ``groups`` maps a group id to its topic. Independent of what the consumers report:
    a group that stopped early has committed less, whatever it claims.
    """

    template_fields: Sequence[str] = ("groups", "target")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        groups: dict[str, str],
        target: dict,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.groups = groups
        self.target = target
        self.kafka_config_id = kafka_config_id

    def execute(self, context: Context) -> dict[str, Any]:
        admin = LabKafkaHook(self.kafka_config_id).lab_admin()
        problems = []
        figures: dict[str, Any] = {}
        for group, topic in self.groups.items():
            target = offsets_for(topic, self.target) or {}
            committed = admin.committed_offsets(group, [topic]).get(topic, {})
            behind = {
                p: (committed.get(p), end)
                for p, end in sorted(target.items())
                if committed.get(p, -1) < end
            }
            figures[group] = {"topic": topic, "committed": committed, "target": target}
            for partition, (got, end) in behind.items():
                problems.append(
                    f"group {group} on {topic} partition {partition}: committed "
                    f"{'nothing' if got is None else got}, expected at least {end}"
                )
        if problems:
            raise AirflowFailException(
                "not every group received every message:\n  " + "\n  ".join(problems)
            )
        return figures


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
        committed = offsets_for(self.topic, self.at_pause) or {}
        end = offsets_for(self.topic, self.recovery_point) or {}
        at_risk = sum(max(0, o - committed.get(p, 0)) for p, o in end.items())
        samples = self.drain.get("samples") or [[0, 0]]
        figures = {
            "topic": self.topic,
            "records_at_risk": at_risk,
            "replay_backlog_at_start": samples[0][1],
            "recovery_time_seconds": self.drain.get("waited_seconds"),
        }
        self.log.info(
            "recovery point: %d records at risk; recovery time %.1fs",
            at_risk,
            figures["recovery_time_seconds"] or 0,
        )
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
        figures = {}
        for name, phase in self.phases.items():
            outcome = (phase.get("job") or {}).get("outcome") or {}
            seconds = outcome.get("processing_seconds") or 0
            samples = (phase.get("lag") or {}).get("samples") or []
            figures[name] = {
                "rows": outcome.get("rows_read"),
                "rows_per_second": round(outcome["rows_read"] / seconds, 1) if seconds else None,
                "max_lag": max((lag for _, lag in samples), default=None),
                "final_lag": samples[-1][1] if samples else None,
            }
        self.log.info("scaling comparison: %s", figures)
        return figures
