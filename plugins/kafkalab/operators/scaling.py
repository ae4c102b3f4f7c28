"""Did the scaled phase scale? Spark's own facts about each phase, and the checks on them.

Each phase's streaming job writes a Spark event log (``spark.eventLog.*``): the
streaming query's progress per micro-batch (rows, duration, start and end offset per
Kafka partition), and every task Spark ran, with its stage, its input records and
when it was launched and finished. The batch a task belongs to is the
``streaming.sql.batchId`` property of its job. The facts come from there, not from
the lab's own reading of Kafka: what Spark says it did.

Per batch, the stage that read the Kafka records is the one whose tasks' input records
add up to the batch's rows (other stages of a batch read Delta's log or the cached
batch: see ``read_stage``). Its tasks are one per Kafka partition with records in the
batch (``minPartitions`` at most the partition count). Two tasks "ran at once" when
their [launch, finish] windows overlap by more than ``OVERLAP_SLACK_MS``: in local mode
Spark records a task's finish a few milliseconds after it launched the next one on the
freed core, so one core alone shows overlaps of a few ms.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.domain.offsets import offsets_for
from kafkalab.domain.throughput import steady_rate
from kafkalab.operators.spark import StartStreamingJobOperator
from kafkalab.settings import get_settings
from kafkalab.spark.driver import parse_end_offsets
from kafkalab.spark.jobs import handle_name

OVERLAP_SLACK_MS = 200
PROGRESS_EVENT = "org.apache.spark.sql.streaming.StreamingQueryListener$QueryProgressEvent"
BATCH_ID_PROPERTY = "streaming.sql.batchId"
RECORDS_READ = "internal.metrics.input.recordsRead"


# --- facts -------------------------------------------------------------------------------


def read_event_log(directory: str | Path) -> list[dict[str, Any]]:
    """Every event of the one Spark application logged under ``directory``.

    Spark 4 rolls event logs by default: ``eventlog_v2_<app>/events_<n>_<app>``, in the
    order of ``n``; a single-file log (rolling off) is read as is.
    """
    root = Path(directory)
    files = sorted(
        root.glob("eventlog_v2_*/events_*"), key=lambda f: int(f.name.split("_")[1])
    ) or sorted(f for f in root.iterdir() if f.is_file() and not f.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"no Spark event log under {root}")
    return [json.loads(line) for path in files for line in path.read_text().splitlines() if line]


def max_concurrent(windows: Iterable[tuple[int, int]], slack_ms: int = OVERLAP_SLACK_MS) -> int:
    """The most [launch, finish] windows (ms) open at one instant, each cut short by
    ``slack_ms``: a handover on one core is not two tasks at once."""
    edges = []
    for launched, finished in windows:
        # A task shorter than the slack still ran: it keeps a window of 1 ms.
        edges += [(launched, 1), (max(launched + 1, finished - slack_ms), -1)]
    running = most = 0
    # At equal times a window closes before the next opens.
    for _, change in sorted(edges):
        running += change
        most = max(most, running)
    return most


def _timestamp(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def read_stage(stages: Sequence[list[dict[str, int]]], rows: int) -> list[dict[str, int]]:
    """The tasks of the stage that read the batch's Kafka records: its input records add up
    to the batch's rows (the stages reading Delta's log or the cached batch read other
    counts); failing that, the stage that read the most records."""
    matching = [tasks for tasks in stages if sum(t["records"] for t in tasks) == rows]
    if matching:
        return max(matching, key=len)
    return max(stages, key=lambda tasks: sum(t["records"] for t in tasks), default=[])


def phase_facts(
    events: Sequence[Mapping[str, Any]], topic: str, start_offsets: Mapping[int, int]
) -> dict[str, Any]:
    """A phase's Spark facts: its executor cores, and per micro-batch with rows: rows,
    start and duration, the Kafka partitions it advanced, and the tasks that read them
    (how many, records each, the most at once)."""
    cores = 0
    batch_of_stage: dict[int, int] = {}
    stage_tasks: dict[int, list[dict[str, int]]] = defaultdict(list)
    progress = []
    master = None
    for event in events:
        kind = event["Event"]
        if kind == "SparkListenerExecutorAdded":
            cores += event["Executor Info"]["Total Cores"]
        elif kind == "SparkListenerEnvironmentUpdate":
            master = dict(event.get("Spark Properties") or {}).get("spark.master")
        elif kind == "SparkListenerJobStart":
            batch = (event.get("Properties") or {}).get(BATCH_ID_PROPERTY)
            if batch is not None:
                for stage in event["Stage IDs"]:
                    batch_of_stage[stage] = int(batch)
        elif kind == "SparkListenerTaskEnd":
            info = event["Task Info"]
            records = sum(
                int(a.get("Update") or 0)
                for a in info.get("Accumulables", [])
                if a.get("Name") == RECORDS_READ
            )
            stage_tasks[event["Stage ID"]].append(
                {
                    "partition": info["Partition ID"],
                    "launched": info["Launch Time"],
                    "finished": info["Finish Time"],
                    "records": records,
                }
            )
        elif kind == PROGRESS_EVENT:
            progress.append(event["progress"])

    stages_of_batch: dict[int, list[list[dict[str, int]]]] = defaultdict(list)
    for stage, tasks in sorted(stage_tasks.items()):
        if stage in batch_of_stage:
            stages_of_batch[batch_of_stage[stage]].append(tasks)

    batches = []
    previous = {int(p): int(o) for p, o in start_offsets.items()}
    for batch in sorted(progress, key=lambda p: p["batchId"]):
        source = next(
            (s for s in batch["sources"] if topic in parse_end_offsets(s.get("endOffset"))), None
        )
        if source is None:
            continue
        end = parse_end_offsets(source["endOffset"])[topic]
        start = parse_end_offsets(source.get("startOffset")).get(topic) or previous
        previous = end
        # The event log's progress has rows per source only (no query-wide total).
        rows = source.get("numInputRows") or 0
        if not rows:
            continue
        tasks = read_stage(stages_of_batch.get(batch["batchId"], []), rows)
        batches.append(
            {
                "batch": batch["batchId"],
                "rows": rows,
                "started": _timestamp(batch["timestamp"]),
                "duration_ms": batch["durationMs"].get("triggerExecution", 0),
                "partitions_advanced": sorted(p for p, o in end.items() if o > start.get(p, 0)),
                "read_tasks": len(tasks),
                "task_records": [t["records"] for t in sorted(tasks, key=lambda t: t["partition"])],
                "max_concurrent_tasks": max_concurrent(
                    (t["launched"], t["finished"]) for t in tasks
                ),
            }
        )
    return {"master": master, "cores": cores, "batches": batches}


def drain_figures(facts: Mapping[str, Any]) -> dict[str, Any]:
    """How fast the phase's job drained its backlog, from its batches' own timings.

    ``drain_rows_per_second``: every row over the time from the first batch's start to
    the last one's end (what the group's lag saw go to zero). ``steady_rows_per_second``:
    the batches after the first, which pays for code generation and the table's creation
    in both phases alike.
    """
    batches = facts.get("batches") or []
    rows = sum(b["rows"] for b in batches)
    figures: dict[str, Any] = {
        "cores": facts.get("cores"),
        "rows": rows,
        "batches": len(batches),
        "tasks_per_batch": [b["read_tasks"] for b in batches],
        "max_concurrent_tasks": max((b["max_concurrent_tasks"] for b in batches), default=0),
        "drain_seconds": None,
        "drain_rows_per_second": None,
        "steady_rows_per_second": None,
    }
    if not batches:
        return figures
    drain = max(b["started"] + b["duration_ms"] / 1000 for b in batches) - batches[0]["started"]
    figures["drain_seconds"] = round(drain, 3)
    figures["drain_rows_per_second"] = round(rows / drain, 1) if drain > 0 else None
    figures["steady_rows_per_second"] = steady_rate(
        [(b["rows"], b["duration_ms"] / 1000) for b in batches]
    )
    return figures


# --- decisions ---------------------------------------------------------------------------


def _batch_line(batch: Mapping[str, Any]) -> str:
    return (
        f"batch {batch['batch']}: {batch['rows']} rows, partitions "
        f"{batch['partitions_advanced']}, {batch['read_tasks']} tasks, "
        f"at most {batch['max_concurrent_tasks']} at once"
    )


def parallelism_problem(facts: Mapping[str, Any], expected_partitions: int) -> str | None:
    """None when the phase read all ``expected_partitions`` in parallel, else why not.

    In parallel means, from Spark's facts: the job had more than one executor core; every
    partition advanced during the phase; and the batches that read every partition with
    one task each, more than one of them running at once, carried at least half the
    phase's rows (the last batch of a drain may find some partitions already empty).
    """
    batches = facts.get("batches") or []
    rows = sum(b["rows"] for b in batches)
    if not rows:
        return "the scaled phase read no rows: there is nothing to say about its parallelism"
    problems = []
    cores = facts.get("cores") or 0
    if cores < 2:
        problems.append(
            f"its job had {cores} executor core(s) (spark.master {facts.get('master')}): "
            "it can read one Kafka partition at a time, whatever the partition count"
        )
    advanced = sorted({p for b in batches for p in b["partitions_advanced"]})
    missing = sorted(set(range(expected_partitions)) - set(advanced))
    if missing:
        problems.append(f"partitions {missing} never advanced (advanced: {advanced})")
    parallel_rows = sum(
        b["rows"]
        for b in batches
        if len(b["partitions_advanced"]) >= expected_partitions
        and b["read_tasks"] >= expected_partitions
        and b["max_concurrent_tasks"] >= 2
    )
    if parallel_rows * 2 < rows:
        problems.append(
            f"only {parallel_rows} of its {rows} rows were read by batches that read all "
            f"{expected_partitions} partitions with more than one task at once"
        )
    if not problems:
        return None
    return (
        "the scaled phase did not read its partitions in parallel: "
        + "; ".join(problems)
        + ". Per batch: "
        + "; ".join(_batch_line(b) for b in batches)
    )


def speedup_figures(baseline: Mapping[str, Any], scaled: Mapping[str, Any]) -> dict[str, Any]:
    """Both phases' drain figures and the scaled phase's rates as multiples of the
    baseline's (None where a phase has no rate)."""
    before, after = drain_figures(baseline), drain_figures(scaled)

    def ratio(key: str) -> float | None:
        if before[key] and after[key] is not None:
            return round(after[key] / before[key], 3)
        return None

    return {
        "baseline": before,
        "scaled": after,
        "steady_speedup": ratio("steady_rows_per_second"),
        "drain_speedup": ratio("drain_rows_per_second"),
    }


def speedup_problem(figures: Mapping[str, Any], min_speedup: float) -> str | None:
    """None when the scaled phase drained its backlog, and ran its steady batches, at
    least ``min_speedup`` times the baseline's rate; else the figures that fell short."""
    problems = []
    for key, what in (
        ("steady_speedup", "steady-state throughput"),
        ("drain_speedup", "backlog drain rate (time for the lag to reach zero)"),
    ):
        value = figures[key]
        if value is None or value < min_speedup:
            rate = key.replace("speedup", "rows_per_second")
            ratio = f"{value}x" if value is not None else "unknown against"
            rates = f"{figures['scaled'][rate]} vs {figures['baseline'][rate]} rows/s"
            problems.append(f"its {what} was {ratio} the baseline's ({rates})")
    if not problems:
        return None
    return (
        f"the scaled phase did not keep up with the baseline (at least {min_speedup}x "
        "expected): " + "; ".join(problems)
    )


# --- operators ---------------------------------------------------------------------------


class ScalingPhaseJobOperator(StartStreamingJobOperator):
    """Start a phase's streaming job with ``cores`` executor cores and a Spark event log.

    ``cores``: ``local[<cores>]`` when the lab's Spark master is local (one JVM whose
    task slots are its cores), ``spark.cores.max`` on a cluster. The event log goes to
    the lab's log directory, one folder per job handle; the result names it.
    """

    template_fields: Sequence[str] = (*StartStreamingJobOperator.template_fields, "cores")

    def __init__(self, *, cores: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cores = cores

    def execute(self, context: Context) -> dict[str, Any]:
        settings = get_settings()
        cores = int(self.cores)
        event_log = settings.paths.logs / "spark-events" / handle_name(self.handle)
        # A retried task starts a new application: the facts must be of that one only.
        shutil.rmtree(event_log, ignore_errors=True)
        event_log.mkdir(parents=True)
        if settings.spark_master.startswith("local"):
            placement = {"spark.master": f"local[{cores}]"}
        else:
            placement = {"spark.cores.max": cores}
        self.spark_conf = {
            **self.spark_conf,
            **placement,
            "spark.eventLog.enabled": "true",
            "spark.eventLog.dir": event_log.as_uri(),
            "spark.eventLog.compress": "false",
        }
        return {**super().execute(context), "cores": cores, "event_log_dir": str(event_log)}


class SparkPhaseFactsOperator(BaseOperator):
    """Read a finished phase job's event log into its facts (``phase_facts``)."""

    template_fields: Sequence[str] = ("topic", "job", "start_offsets")
    ui_color = "#fcf3cf"

    def __init__(self, *, topic: str, job: dict, start_offsets: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.job = job
        self.start_offsets = start_offsets

    def execute(self, context: Context) -> dict[str, Any]:
        events = read_event_log(self.job["event_log_dir"])
        facts = phase_facts(events, self.topic, offsets_for(self.topic, self.start_offsets) or {})
        for batch in facts["batches"]:
            self.log.info(_batch_line(batch))
        self.log.info(
            "executor cores %s (%s); %s", facts["cores"], facts["master"], drain_figures(facts)
        )
        return facts


class ScaledParallelismOperator(BaseOperator):
    """Fail unless the scaled phase read all ``expected_partitions`` in parallel."""

    template_fields: Sequence[str] = ("facts", "expected_partitions")
    ui_color = "#d5f5e3"

    def __init__(self, *, facts: dict, expected_partitions: int | str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.facts = facts
        self.expected_partitions = expected_partitions

    def execute(self, context: Context) -> dict[str, Any]:
        problem = parallelism_problem(self.facts, int(self.expected_partitions))
        if problem:
            raise AirflowFailException(problem)
        figures = drain_figures(self.facts)
        self.log.info("scaled phase read in parallel: %s", figures)
        return figures


class ScalingSpeedupOperator(BaseOperator):
    """Both phases' throughput and drain rate; fail when the scaled phase's fell below
    ``min_speedup`` times the baseline's. Both measured in the same run, on the same
    backlog size: a ratio, not a machine-dependent absolute rate."""

    template_fields: Sequence[str] = ("baseline", "scaled", "min_speedup")
    ui_color = "#d5f5e3"

    def __init__(
        self, *, baseline: dict, scaled: dict, min_speedup: float | str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.baseline = baseline
        self.scaled = scaled
        self.min_speedup = min_speedup

    def execute(self, context: Context) -> dict[str, Any]:
        figures = speedup_figures(self.baseline, self.scaled)
        self.log.info("scaling comparison: %s", figures)
        problem = speedup_problem(figures, float(self.min_speedup))
        if problem:
            raise AirflowFailException(problem)
        return figures
