"""Checks the exercises assert: each returns its figures, or fails naming what is wrong.

Each check's decision is a pure function (facts in, ``None`` or the failure message
out); the operator fetches the facts and fails the task with that message.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException
from pydantic import ValidationError

from kafkalab.domain.offsets import Offsets, offsets_for
from kafkalab.domain.reconcile import compress_offsets
from kafkalab.domain.schemas import STREAMS, StreamSpec, sequenced_id
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.kafka.ranges import Record, read_between
from kafkalab.operators.generator import ingestor_url


def _fail_if(failure: str | None) -> None:
    if failure is not None:
        raise AirflowFailException(failure)


# --- the ingestor answers ------------------------------------------------------------------


def ingestor_health_failure(url: str, status_code: int, body: str) -> str | None:
    if status_code == 200:
        return None
    return f"the ingestor at {url} is not healthy: {status_code} {body}"


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
        _fail_if(ingestor_health_failure(url, response.status_code, response.text))
        return {"url": url, **response.json()}


# --- Kafka holds what the generator had acknowledged ---------------------------------------


@dataclass
class RunRecords:
    """What one topic holds of a generator run, against what the run had acknowledged."""

    topic: str
    expected: set[str]
    seen: Counter = field(default_factory=Counter)
    invalid: list[str] = field(default_factory=list)
    sample: list[dict] = field(default_factory=list)

    def problems(self) -> list[str]:
        problems = []
        missing = sorted(self.expected - set(self.seen))
        duplicated = {i: n for i, n in self.seen.items() if n > 1}
        if missing:
            sequences = [int(i.rsplit("-", 1)[1]) for i in missing]
            problems.append(
                f"{self.topic}: {len(missing)} acknowledged events missing "
                f"(sequences {compress_offsets(sequences)})"
            )
        if duplicated:
            problems.append(
                f"{self.topic}: {len(duplicated)} events published more than "
                f"once, e.g. {sorted(duplicated)[:3]}"
            )
        if self.invalid:
            problems.append(
                f"{self.topic}: {len(self.invalid)} records fail the schema, "
                f"e.g. {self.invalid[:2]}"
            )
        return problems

    def figures(self) -> dict[str, Any]:
        return {
            "acknowledged": len(self.expected),
            "found": sum(self.seen.values()),
            "distinct": len(self.seen),
            "sample": self.sample,
        }


def acknowledged_ids(stream: StreamSpec, run_id: str, acknowledged: dict[str, Any]) -> set[str]:
    """The ids of a generator summary's acknowledged sequence range on ``stream``'s topic."""
    if not acknowledged["acknowledged"]:
        return set()
    return {
        sequenced_id(stream.id_prefix, run_id, sequence)
        for sequence in range(acknowledged["first_sequence"], acknowledged["last_sequence"] + 1)
    }


def tally_run_records(
    stream: StreamSpec,
    run_id: str,
    acknowledged: dict[str, Any],
    records: Iterable[Record],
    sample_size: int,
) -> RunRecords:
    """Count the run's ids among ``records``, validate each of its events, keep a sample."""
    tally = RunRecords(stream.topic, acknowledged_ids(stream, run_id, acknowledged))
    for record in records:
        try:
            event = json.loads(record.value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue  # another producer's record: not this run's business
        if not isinstance(event, dict) or event.get("run_id") != run_id:
            continue
        tally.seen[event.get(stream.id_field)] += 1
        try:
            stream.model.model_validate(event)
        except ValidationError as exc:
            tally.invalid.append(f"offset {record.partition}:{record.offset}: {exc.errors()[0]}")
        if len(tally.sample) < sample_size:
            tally.sample.append(
                {
                    "partition": record.partition,
                    "offset": record.offset,
                    "key": (record.key or b"").decode(),
                    "event": event,
                }
            )
    return tally


def generator_run_failure(run_id: str, tallies: Iterable[RunRecords]) -> str | None:
    problems = [problem for tally in tallies for problem in tally.problems()]
    if not problems:
        return None
    return f"generator run {run_id}: Kafka does not hold what was acknowledged:\n  " + "\n  ".join(
        problems
    )


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
        connection = LabKafkaHook(self.kafka_config_id).client_config()
        run_id = self.generator_summary["run_id"]
        tallies = [
            tally_run_records(
                stream,
                run_id,
                self.generator_summary["topics"][stream.topic],
                read_between(
                    connection,
                    stream.topic,
                    offsets_for(stream.topic, self.before) or {},
                    offsets_for(stream.topic, self.after) or {},
                ),
                self.sample_size,
            )
            for stream in STREAMS.values()
        ]
        _fail_if(generator_run_failure(run_id, tallies))
        return {tally.topic: tally.figures() for tally in tallies}


# --- every consumer saw the same log -------------------------------------------------------


@dataclass(frozen=True)
class ConsumerViews:
    """Per consumer: the digest of each partition's sequence, and how many records it got."""

    digests: dict[str, dict[str, str]]
    received: dict[str, int]
    short_reads: list[str]


def consumer_views(sequences: dict[str, dict]) -> ConsumerViews:
    digests: dict[str, dict[str, str]] = {}
    received: dict[str, int] = {}
    short_reads = []
    for name, result in sequences.items():
        if "digests" in result:  # the Spark job's Delta table, already reconciled
            digests[name] = result["digests"]
            received[name] = result["present"]
            continue
        digests[name] = {p: s["digest"] for p, s in result["partitions"].items()}
        received[name] = result["consumed"]
        for partition, s in sorted(result["partitions"].items()):
            if s["count"] != s["to"] - s["from"]:
                short_reads.append(
                    f"group {name} received {s['count']} of the {s['to'] - s['from']} "
                    f"records of partition {partition} (offsets [{s['from']}, {s['to']}))"
                )
    return ConsumerViews(digests, received, short_reads)


def same_sequences_failure(topic: str, views: ConsumerViews) -> str | None:
    problems = list(views.short_reads)
    reference_name, reference = next(iter(views.digests.items()))
    for name, by_partition in views.digests.items():
        for partition, digest in sorted(reference.items()):
            if by_partition.get(partition) != digest:
                problems.append(
                    f"partition {partition}: {name} saw a different sequence of offsets and "
                    f"event ids than {reference_name}"
                )
    if not problems:
        return None
    return f"consumers of {topic} did not all see the same log:\n  " + "\n  ".join(problems)


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
        views = consumer_views(self.sequences)
        _fail_if(same_sequences_failure(self.topic, views))
        return {
            "topic": self.topic,
            "records_per_consumer": views.received,
            "partitions_compared": len(next(iter(views.digests.values()))),
            "consumers": sorted(views.digests),
        }


# --- new records reached every partition ---------------------------------------------------


def new_records_per_partition(before: Offsets, after: Offsets) -> dict[int, int]:
    return {p: end - before.get(p, 0) for p, end in sorted(after.items())}


def partition_spread_failure(topic: str, new: dict[int, int], expected: int) -> str | None:
    """``new`` has an entry per partition the topic has now."""
    idle = [p for p, n in new.items() if n <= 0]
    if len(new) == expected and not idle:
        return None
    return (
        f"{topic}: expected new records on all {expected} partitions, but the topic "
        f"has {len(new)} partitions and these received none: {idle or '-'} "
        f"(new records per partition: {new})"
    )


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
        new = new_records_per_partition(
            offsets_for(self.topic, self.before) or {}, offsets_for(self.topic, self.after) or {}
        )
        _fail_if(partition_spread_failure(self.topic, new, int(self.expected_partitions)))
        return {"topic": self.topic, "partitions": len(new), "new_records_per_partition": new}


# --- each group committed up to the target -------------------------------------------------


def groups_caught_up_failure(progress: dict[str, dict[str, Any]]) -> str | None:
    """``progress`` maps a group to its ``topic``, ``committed`` and ``target`` offsets."""
    problems = []
    for group, seen in progress.items():
        committed: Offsets = seen["committed"]
        for partition, end in sorted(seen["target"].items()):
            # A partition the group never committed on is behind whatever the target.
            if committed.get(partition, -1) < end:
                got = committed.get(partition)
                problems.append(
                    f"group {group} on {seen['topic']} partition {partition}: committed "
                    f"{'nothing' if got is None else got}, expected at least {end}"
                )
    if not problems:
        return None
    return "not every group received every message:\n  " + "\n  ".join(problems)


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
        progress = {
            group: {
                "topic": topic,
                "committed": admin.committed_offsets(group, [topic]).get(topic, {}),
                "target": offsets_for(topic, self.target) or {},
            }
            for group, topic in self.groups.items()
        }
        _fail_if(groups_caught_up_failure(progress))
        return progress
