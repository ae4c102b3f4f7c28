"""Checks the exercises assert: each returns its figures, or fails naming what is wrong.

Each check's decision is a pure function (facts in, ``None`` or the failure message
out); the operator fetches the facts and fails the task with that message.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException
from pydantic import ValidationError

from kafkalab.domain.offsets import Offsets, offsets_for
from kafkalab.domain.reconcile import compress_offsets, sequence_digest
from kafkalab.domain.schemas import STREAMS, StreamSpec, sequenced_id, stream_for_topic
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


def combined_read(result: dict | list[dict]) -> dict[str, Any]:
    """One consumer's read of a range, from one ConsumerGroupRunOperator result or the
    results of its successive legs (a group stopped, then resumed from its commits).

    Per partition: ``from`` of the first leg, ``to`` of the last, the records of all legs
    counted, and, when the legs kept their records, the window's ``[offset, id]`` pairs
    and their digest recomputed over all legs: a resumed read that lost or repeated a
    record shows in the count and in the digest.
    """
    legs = result if isinstance(result, list) else [result]
    partitions: dict[str, dict[str, Any]] = {}
    for leg in legs:
        for partition, s in leg["partitions"].items():
            into = partitions.setdefault(
                partition, {"from": s["from"], "count": 0, "digest": s["digest"], "records": []}
            )
            into["to"] = s["to"]
            into["count"] += s["count"]
            if "records" in s:
                into["records"].extend(s["records"])
            elif len(legs) > 1:
                raise ValueError("legs of one read must keep their records (keep_records=True)")
    for into in partitions.values():
        if len(legs) > 1 or into["records"]:
            into["digest"] = sequence_digest(tuple(r) for r in into["records"])
    return {"consumed": sum(leg["consumed"] for leg in legs), "partitions": partitions}


@dataclass(frozen=True)
class ConsumerViews:
    """Per consumer: the digest of each partition's sequence, and how many records it got."""

    digests: dict[str, dict[str, str]]
    received: dict[str, int]
    short_reads: list[str]


def consumer_views(sequences: dict[str, dict | list[dict]]) -> ConsumerViews:
    digests: dict[str, dict[str, str]] = {}
    received: dict[str, int] = {}
    short_reads = []
    for name, result in sequences.items():
        if isinstance(result, dict) and "digests" in result:
            # The Spark job's Delta table, already reconciled.
            digests[name] = result["digests"]
            received[name] = result["present"]
            continue
        read = combined_read(result)
        digests[name] = {p: s["digest"] for p, s in read["partitions"].items()}
        received[name] = read["consumed"]
        for partition, s in sorted(read["partitions"].items()):
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


def _sequence_numbers(ids: Iterable[str]) -> str:
    return compress_offsets(int(i.rsplit("-", 1)[1]) for i in ids)


def acknowledged_sequence_failure(
    stream: StreamSpec,
    run_id: str,
    windows: dict[str, dict[str, list]],
    at_target: dict[str, Any],
    in_the_end: dict[str, Any],
) -> str | None:
    """Each consumer's window holds every event acknowledged before the target, once, and
    nothing the generator never acknowledged.

    ``windows``: consumer -> partition -> ``[offset, event id]`` pairs of the compared
    window. ``at_target``/``in_the_end``: the generator's counts for ``stream``'s topic
    read just before the target snapshot and when the run was stopped. The generator is
    the independent source: a record Kafka holds twice is seen twice by every consumer,
    so comparing consumers with each other alone would miss it.
    """
    topic = stream.topic
    before = acknowledged_ids(stream, run_id, at_target)
    acknowledged = acknowledged_ids(stream, run_id, in_the_end)
    problems = []
    if not before:
        problems.append(
            f"the generator had acknowledged no event on {topic} before the target snapshot: "
            "the window proves nothing"
        )
    for summary, moment in ((at_target, "before the target snapshot"), (in_the_end, "in the end")):
        if not summary.get("contiguous", True):
            problems.append(
                f"the generator's acknowledged sequences on {topic} {moment} have gaps "
                f"(first {summary['first_sequence']}, last {summary['last_sequence']}, "
                f"{summary['acknowledged']} acknowledged): its id range is not what it had"
            )
    for name, window in windows.items():
        places: dict[str, list[str]] = {}
        for partition, records in sorted(window.items(), key=lambda item: int(item[0])):
            for offset, event_id in records:
                places.setdefault(event_id, []).append(f"{partition}:{offset}")
        missing = sorted(before - set(places))
        repeated = {i: where for i, where in sorted(places.items()) if len(where) > 1}
        unknown = [i for i in sorted(places) if i not in acknowledged]
        if missing:
            problems.append(
                f"{name}: {len(missing)} events acknowledged before the target snapshot are "
                f"not in the window (sequences {_sequence_numbers(missing)})"
            )
        if repeated:
            examples = ", ".join(f"{i} at {' and '.join(w)}" for i, w in list(repeated.items())[:3])
            problems.append(f"{name}: {len(repeated)} events more than once, e.g. {examples}")
        if unknown:
            examples = ", ".join(f"{i} at {places[i][0]}" for i in unknown[:3])
            problems.append(
                f"{name}: {len(unknown)} records the generator never acknowledged, e.g. {examples}"
            )
    if not problems:
        return None
    return (
        f"consumers of {topic} do not hold exactly the events generator run {run_id} "
        "acknowledged:\n  " + "\n  ".join(problems)
    )


class CompareSequencesOperator(BaseOperator):
    """Every consumer saw every record of its range, all saw the same sequences, and those
    are the events the generator acknowledged.

    ``sequences`` maps a consumer's name to a ConsumerGroupRunOperator result (or the list
    of its legs' results), or to a DeltaReconcileOperator summary with digests (the Spark
    job's view of the range). With ``acknowledged_at_target`` (a GeneratorStatusOperator
    result read just before the target snapshot) and ``acknowledged`` (the run's final
    summary), every consumer whose results kept their records is also compared, by id,
    with what the generator had acknowledged; the others by digest with those.
    """

    template_fields: Sequence[str] = ("sequences", "acknowledged_at_target", "acknowledged")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        topic: str,
        sequences: dict[str, Any],
        acknowledged_at_target: dict | None = None,
        acknowledged: dict | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.sequences = sequences
        self.acknowledged_at_target = acknowledged_at_target
        self.acknowledged = acknowledged

    def execute(self, context: Context) -> dict[str, Any]:
        views = consumer_views(self.sequences)
        failures = [same_sequences_failure(self.topic, views)]
        figures: dict[str, Any] = {
            "topic": self.topic,
            "records_per_consumer": views.received,
            "partitions_compared": len(next(iter(views.digests.values()))),
            "consumers": sorted(views.digests),
        }
        if self.acknowledged is not None:
            stream = stream_for_topic(self.topic)
            at_target = (self.acknowledged_at_target or {}).get("summary") or {}
            windows = {
                name: {p: s["records"] for p, s in combined_read(result)["partitions"].items()}
                for name, result in self.sequences.items()
                if not (isinstance(result, dict) and "digests" in result)
            }
            failures.append(
                acknowledged_sequence_failure(
                    stream,
                    self.acknowledged["run_id"],
                    windows,
                    at_target.get("topics", {}).get(self.topic, {"acknowledged": 0}),
                    self.acknowledged["topics"][self.topic],
                )
            )
            figures["checked_by_id"] = sorted(windows)
            figures["acknowledged_before_target"] = len(
                acknowledged_ids(
                    stream,
                    self.acknowledged["run_id"],
                    at_target.get("topics", {}).get(self.topic, {"acknowledged": 0}),
                )
            )
        _fail_if("\n".join(f for f in failures if f) or None)
        return figures


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
        with LabKafkaHook(self.kafka_config_id).lab_admin() as admin:
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


# --- one group stopped mid-range, the others went on ---------------------------------------


def stopped_group_failure(stopped: dict[str, Any], others: dict[str, dict[str, Any]]) -> str | None:
    """While one group was stopped, Kafka kept it at its stop point and the others finished.

    ``stopped``: the group's ``group``, ``topic``, ``stop_at``, ``target`` and
    ``committed`` offsets; ``others``: group -> ``topic``, ``committed``, ``target``.
    """
    group, topic = stopped["group"], stopped["topic"]
    stop_at: Offsets = stopped["stop_at"]
    target: Offsets = stopped["target"]
    problems = []
    if not any(stop < target.get(p, stop) for p, stop in stop_at.items()):
        problems.append(
            f"group {group} was not stopped mid-range: its stop point {stop_at} is not "
            f"before the target {target} on any partition"
        )
    for partition, stop in sorted(stop_at.items()):
        got = stopped["committed"].get(partition)
        if got != stop:
            problems.append(
                f"group {group} (stopped) on {topic} partition {partition}: committed "
                f"{'nothing' if got is None else got}, expected its stop point {stop}"
            )
    for other, seen in others.items():
        for partition, end in sorted(seen["target"].items()):
            got = seen["committed"].get(partition)
            if got is None or got < end:
                problems.append(
                    f"group {other} on {seen['topic']} partition {partition}: committed "
                    f"{'nothing' if got is None else got}, expected at least {end} "
                    f"while {group} was stopped"
                )
    if not problems:
        return None
    return (
        f"stopping group {group} mid-range did not leave it stopped and the others "
        "finishing, by Kafka's committed offsets:\n  " + "\n  ".join(problems)
    )


class StoppedGroupOperator(BaseOperator):
    """Kafka's committed offsets while ``group`` is stopped: it sits at ``stop_at``, and
    every group of ``others`` (``[group, topic]`` pairs) reached ``target``."""

    template_fields: Sequence[str] = ("stop_at", "others", "target")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        group: str,
        topic: str,
        stop_at: dict,
        others: list[tuple[str, str]],
        target: dict,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.topic = topic
        self.stop_at = stop_at
        self.others = others
        self.target = target
        self.kafka_config_id = kafka_config_id

    def execute(self, context: Context) -> dict[str, Any]:
        with LabKafkaHook(self.kafka_config_id).lab_admin() as admin:
            stopped = {
                "group": self.group,
                "topic": self.topic,
                "stop_at": offsets_for(self.topic, self.stop_at) or {},
                "target": offsets_for(self.topic, self.target) or {},
                "committed": admin.committed_offsets(self.group, [self.topic]).get(self.topic, {}),
            }
            others = {
                group: {
                    "topic": topic,
                    "committed": admin.committed_offsets(group, [topic]).get(topic, {}),
                    "target": offsets_for(topic, self.target) or {},
                }
                for group, topic in self.others
            }
        _fail_if(stopped_group_failure(stopped, others))
        return {"stopped": stopped, "others": others}


# --- the Spark group kept up while the new groups read -------------------------------------


def _clock(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%H:%M:%S UTC")


def _spread(samples: Iterable[Sequence[float]]) -> dict[str, Any]:
    lags = [int(lag) for _, lag in samples]
    if not lags:
        return {"samples": 0, "max": None, "median": None}
    return {"samples": len(lags), "max": max(lags), "median": statistics.median(lags)}


def _inside(window: dict) -> list[tuple[float, int]]:
    """The samples taken between the read's first and last moment."""
    start, end = window["started_at"], window["ended_at"]
    return [(t, lag) for t, lag in window["samples"] if start <= t <= end]


def reading_windows(readings: dict[str, dict]) -> dict[str, dict | None]:
    """name -> the lag watched during that consumer's read (``result["watched"]``)."""
    return {name: result.get("watched") for name, result in readings.items()}


def lag_while_reading_failure(
    group: str, threshold: int, windows: dict[str, dict | None], baseline: list
) -> str | None:
    """``group``'s lag stayed within ``threshold`` of its baseline peak in every sample
    taken inside the new groups' reading windows, and each window has such samples.

    ``windows``: reader -> ``{"group", "started_at", "ended_at", "samples"}`` (None when
    the reader watched nothing); ``baseline``: ``[taken_at, lag]`` samples from before
    the readers started. Relative to the baseline, not absolute: a streaming job's
    committed lag is a sawtooth whose teeth (a micro-batch's worth of records) depend on
    how fast the machine is; the readers must not lift it more than ``threshold`` above
    its usual level without them. The baseline's median, not its peak: a job that has
    just caught up still has a long first tooth or two, which would excuse anything. A
    frozen job's lag grows by the producer's rate for the whole of the reads.
    """
    base = _spread(baseline)
    limit = None if base["median"] is None else int(base["median"]) + threshold
    unmeasured, breaches = [], []
    if limit is None:
        unmeasured.append("no baseline sample before they started")
    if not windows:
        unmeasured.append("no reading window was given")
    for name, window in windows.items():
        if window is None:
            unmeasured.append(f"the read of {name} sampled no lag")
            continue
        if window["group"] != group:
            unmeasured.append(f"the read of {name} sampled the lag of {window['group']}")
            continue
        start, end = window["started_at"], window["ended_at"]
        span = f"{_clock(start)} to {_clock(end)}"
        inside = _inside(window)
        if not inside:
            unmeasured.append(f"no sample of its lag inside the read of {name} ({span})")
            continue
        over = [(t, lag) for t, lag in inside if limit is not None and lag > limit]
        if over:
            taken, lag = over[0]
            breaches.append(
                f"while {name} read ({span}): lag {lag} at {_clock(taken)}, "
                f"{taken - start:.1f}s into its read; {len(over)} of {len(inside)} samples "
                f"above {limit}, highest {max(lag for _, lag in over)}"
            )
    if not (unmeasured or breaches):
        return None
    before = (
        f"baseline before they started: max {base['max']}, median {base['median']} "
        f"of {base['samples']} samples"
    )
    if breaches:
        headline = (
            f"group {group} fell behind while the new groups read: its lag must stay at "
            f"most {limit} (its baseline median + lag_threshold {threshold}) in every sample "
            f"of their reads ({before})"
        )
    else:
        headline = (
            f"group {group}'s lag was not measured while the new groups read, so its "
            f"independence is not shown ({before})"
        )
    return headline + ":\n  " + "\n  ".join(breaches + unmeasured)


def lag_while_reading_figures(windows: dict[str, dict | None], baseline: list) -> dict[str, Any]:
    """The baseline's spread against the spread of the samples inside the reads."""
    samples = sorted(sample for window in windows.values() if window for sample in _inside(window))
    return {
        "baseline": _spread(baseline),
        "while_reading": _spread(samples),
        "reads": {
            name: {
                "seconds": round(window["ended_at"] - window["started_at"], 1),
                **_spread(_inside(window)),
            }
            for name, window in windows.items()
            if window
        },
        # The report plots a result's samples as a lag series.
        "samples": [list(sample) for sample in samples],
    }


class LagWhileReadingOperator(BaseOperator):
    """The watched group (the Spark job's) kept its lag within ``threshold`` above the
    median of a baseline sampled before the new groups started, in every sample taken
    while they read.

    ``readings``: name -> ConsumerGroupRunOperator result run with ``watch_group=group``;
    ``baseline``: a ConsumerLagSamplingOperator result over the same group.
    """

    template_fields: Sequence[str] = ("group", "threshold", "readings", "baseline")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        group: str,
        threshold: int | str,
        readings: dict[str, Any],
        baseline: dict,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.group = group
        self.threshold = threshold
        self.readings = readings
        self.baseline = baseline

    def execute(self, context: Context) -> dict[str, Any]:
        windows = reading_windows(self.readings)
        baseline = (self.baseline or {}).get("samples") or []
        figures = lag_while_reading_figures(windows, baseline)
        self.log.info(
            "baseline %s; while reading %s", figures["baseline"], figures["while_reading"]
        )
        _fail_if(lag_while_reading_failure(self.group, int(self.threshold), windows, baseline))
        return {"group": self.group, "threshold": int(self.threshold), **figures}


# --- what the generator had acknowledged at a given moment ---------------------------------


class AcknowledgedSoFarOperator(BaseOperator):
    """A background generator run's counts now, as soon as each topic's acknowledged
    sequences have no gap.

    With requests in flight, acknowledgements arrive out of order: a status with a gap
    would claim ids (inside its first..last range) that Kafka may not hold yet. The
    status file is rewritten every 2 s, so a gap-free one comes quickly.
    """

    template_fields: Sequence[str] = ("run_id",)
    ui_color = "#ebf5fb"

    def __init__(
        self,
        *,
        run_id: str,
        timeout_seconds: float = 120.0,
        poll_interval: float = 0.5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.run_id = run_id
        self.timeout_seconds = timeout_seconds
        self.poll_interval = poll_interval

    def execute(self, context: Context) -> dict[str, Any]:
        from kafkalab.generator.background import background_status
        from kafkalab.settings import get_settings

        deadline = time.monotonic() + self.timeout_seconds
        while True:
            status = background_status(get_settings(), str(self.run_id)).to_dict()
            summary = status.get("summary") or {}
            topics = summary.get("topics") or {}
            if topics and all(t.get("contiguous", True) for t in topics.values()):
                self.log.info(
                    "acknowledged so far: %s", {n: t["acknowledged"] for n, t in topics.items()}
                )
                return status
            if time.monotonic() > deadline:
                raise AirflowFailException(
                    f"generator run {self.run_id}: no status without gaps in its acknowledged "
                    f"sequences within {self.timeout_seconds:.0f}s; last: {topics}"
                )
            time.sleep(self.poll_interval)
