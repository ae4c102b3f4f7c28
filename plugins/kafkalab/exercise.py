"""What every lab DAG shares: its defaults, the exercises' params, the setup group, the report.

An exercise file is wiring: its doc, its own params, its tasks in phases, and a
``Report`` naming the tasks (not task ids) whose results the report shows::

    @exercise_dag(dag_id="kafka_x", doc_md=__doc__, tags=["x"], faults=["break_x"],
                  timeout_seconds=300, execution_timeout=dt.timedelta(minutes=20))
    def kafka_x() -> Report:
        setup = setup_group(one_task_per_topic(TOPICS))
        ...
        return Report(title="Kafka x", figures={"records": check})

    kafka_x()

``lab_dag`` gives every DAG the same frame (no catch-up, one run at a time, the
``kafkalab`` tag, the ``slug`` filter, default task args) and ends it with the report,
after every other task. ``exercise_dag`` adds the params all four exercises have:
``timeout_seconds`` and ``fault``. The steps more than one exercise takes are here
once: the setup group, a streaming job started under load (``live_stream``), a
group's lag draining (``lag_drains``), a fault task (``fault_task``), and arguments
computed from upstream results when a task runs (``ComputedValue``).

Not an operator, so not under ``operators/``: this module builds DAGs out of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from airflow.sdk import DAG, BaseOperator, Param, TaskGroup, XComArg

# What Airflow resolves in a template field at run time, and follows to set a task's
# upstream tasks (XComArg is one); the task SDK has no public name for it.
from airflow.sdk.definitions._internal.mixins import ResolveMixin

from kafkalab.domain.naming import slug
from kafkalab.domain.topics import TopicSpec
from kafkalab.operators.checks import IngestorHealthOperator
from kafkalab.operators.faults import FaultOperator
from kafkalab.operators.generator import StartGeneratorOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator
from kafkalab.operators.report import LabReportOperator, record_failure
from kafkalab.operators.spark import StartStreamingJobOperator
from kafkalab.operators.topics import EnsureTopicOperator
from kafkalab.sensors.lag import ConsumerLagSensor
from kafkalab.settings import get_settings

ReportSource = BaseOperator | XComArg


@dataclass(frozen=True)
class Report:
    """The run's report: figure name -> the task (or its ``.output``) whose result it is."""

    title: str
    figures: Mapping[str, ReportSource]
    lag_series: Mapping[str, ReportSource] = field(default_factory=dict)
    # Display name -> (path in ``figures``, unit): what the summary leads with.
    headline: Mapping[str, tuple[str, str]] = field(default_factory=dict)


def lab_dag(
    *,
    dag_id: str,
    doc_md: str | None,
    tags: Sequence[str],
    execution_timeout: dt.timedelta,
    params: Mapping[str, Param] | None = None,
    schedule: Any = None,
    retries: int = 0,
    retry_delay: dt.timedelta | None = None,
) -> Callable[[Callable[[], Report]], Callable[[], DAG]]:
    """Decorate a function that creates the tasks and returns the ``Report``; calling the
    result builds the DAG, with the report task (``report``) after every other task."""
    default_args: dict[str, Any] = {
        "retries": retries,
        "execution_timeout": execution_timeout,
        # The report shows each failed check's message next to its row.
        "on_failure_callback": record_failure,
    }
    if retry_delay is not None:
        default_args["retry_delay"] = retry_delay

    def decorate(build: Callable[[], Report]) -> Callable[[], DAG]:
        def create() -> DAG:
            with DAG(
                dag_id,
                schedule=schedule,
                catchup=False,
                max_active_runs=1,
                tags=["kafkalab", *tags],
                doc_md=doc_md,
                user_defined_filters={"slug": slug},
                default_args=default_args,
                params=dict(params or {}),
            ) as dag:
                report = build()
                # Every task that ends the graph: the report sees the whole run.
                last = [task for task in dag.tasks if not task.downstream_task_ids]
                LabReportOperator(
                    task_id="report",
                    title=report.title,
                    figures=report.figures,
                    lag_series=report.lag_series,
                    headline=report.headline,
                    # Where `./lab run` reads it back from.
                    bucket=get_settings().reports_bucket,
                ).set_upstream(last)
            # The DAG's file is the exercise's, not this module: the UI shows its source,
            # and a worker parses that file again to run a task.
            dag.fileloc = build.__code__.co_filename
            return dag

        return create

    return decorate


def exercise_dag(
    *,
    timeout_seconds: int,
    faults: Sequence[str],
    params: Mapping[str, Param] | None = None,
    **frame: Any,
) -> Callable[[Callable[[], Report]], Callable[[], DAG]]:
    """``lab_dag`` with the params every exercise has, after its own: ``timeout_seconds``
    (each wait's bound) and ``fault`` (``none`` or one of ``faults``, each injected by a
    ``FaultOperator`` of the DAG)."""
    shared = {
        "timeout_seconds": Param(timeout_seconds, type="integer", minimum=10),
        "fault": Param("none", enum=["none", *faults], description="break the outcome on purpose"),
    }
    return lab_dag(params={**(params or {}), **shared}, **frame)


# The trigger rule of a task downstream of a fault task. Not selected, the fault skips
# itself, and that skip must not skip what follows (a skipped check proves nothing);
# a failure upstream, the selected fault's own included, still stops it.
AFTER_FAULT = "none_failed"


def fault_task(
    fault: str, inject: Callable[..., dict[str, Any]], **arguments: Any
) -> FaultOperator:
    """``fault_<fault>``: breaks the outcome with ``inject(**arguments)`` when the run's
    ``fault`` param selects it, and skips itself otherwise."""
    return FaultOperator(task_id=f"fault_{fault}", fault=fault, inject=inject, arguments=arguments)


@dataclass(frozen=True)
class Setup:
    group: TaskGroup
    ingestor: BaseOperator


def one_task_per_topic(specs: Sequence[TopicSpec]) -> dict[str, TopicSpec]:
    """``ensure_<topic>`` -> spec, for a setup group that ensures several topics."""
    return {f"ensure_{spec.name}": spec for spec in specs}


def setup_group(ensure: Mapping[str, TopicSpec]) -> Setup:
    """The ``setup`` group of the exercises on the lab's topics: each topic exists with its
    configured partitions (task id -> spec; created if missing, existing ones keep their
    data), and the ingestor is healthy. More tasks may join it: ``with setup.group:``."""
    with TaskGroup("setup") as group:
        for task_id, spec in ensure.items():
            EnsureTopicOperator(
                task_id=task_id, topic=spec.name, partitions=spec.partitions, configs=spec.configs
            )
        ingestor = IngestorHealthOperator(task_id="ingestor_healthy")
    return Setup(group, ingestor)


def lag_drains(
    task_id: str, *, group: str, topic: str, to: int | str, timeout: str, **kwargs: Any
) -> ConsumerLagSensor:
    """Wait until ``group``'s total lag on ``topic`` is at most ``to``: it caught up."""
    return ConsumerLagSensor(
        task_id=task_id,
        group=group,
        topics=[topic],
        mode="drains_to",
        threshold=to,
        timeout_seconds=timeout,
        **kwargs,
    )


@dataclass(frozen=True)
class LiveStream:
    start: BaseOperator  # the end offsets the job started from
    caught_up: BaseOperator  # its lag, drained to a bound: the job keeps up
    spark: BaseOperator  # the job's start: its handle's pid and times


def live_stream(
    *,
    offsets_of: Sequence[str],
    generator_run: str,
    topic: str,
    handle: str,
    output_path: str,
    group: str,
    caught_up_within: int | str,
    timeout: str,
) -> LiveStream:
    """The phase the streaming exercises start with, inside the caller's task group.

    Note the end offsets of ``offsets_of``; start the generator in the background
    (``params.rate``); start the Spark streaming job on ``topic`` from those offsets,
    committing its progress to ``group`` so its lag is visible; wait until that lag is
    at most ``caught_up_within``.
    """
    start = SnapshotEndOffsetsOperator(task_id="offsets_start", topics=list(offsets_of))
    generator = StartGeneratorOperator(
        task_id="start_generator", run_id=generator_run, rate="{{ params.rate }}"
    )
    spark = StartStreamingJobOperator(
        task_id="start_spark",
        handle=handle,
        topic=topic,
        output_path=output_path,
        starting_offsets=start.output,
        consumer_group=group,
        trigger="processingTime=2 seconds",
    )
    caught_up = lag_drains(
        "spark_caught_up", group=group, topic=topic, to=caught_up_within, timeout=timeout
    )
    start >> generator >> spark >> caught_up
    return LiveStream(start, caught_up, spark)


def lake_path(*parts: str) -> str:
    """``s3a://<raw bucket>/<parts>``: where the exercises' Spark jobs write, as Spark names it.

    Read at parse time from the settings' environment (``KAFKALAB_RAW_BUCKET``), so the
    DAGs write where the lab created the bucket.
    """
    return "/".join([f"s3a://{get_settings().raw_bucket}", *parts])


class ComputedValue(ResolveMixin):
    """A task argument computed when the task runs, by a plain function of upstream results.

    In place of Jinja arithmetic over XCom shapes: ``min_rows=ComputedValue(
    records_between, start.output, target.output, topic=T)`` calls
    ``records_between(<start's result>, <target's result>, topic=T)`` at render time, and,
    as an XComArg would, makes those tasks upstream of the one that reads it. Give it to a
    templated argument only: Airflow resolves template fields, nothing else.
    """

    def __init__(self, function: Callable[..., Any], *results: XComArg, **constants: Any) -> None:
        self.function = function
        self.results = results
        self.constants = constants

    def iter_references(self) -> Iterator[tuple[Any, str]]:
        for result in self.results:
            yield from result.iter_references()

    def resolve(self, context: Mapping[str, Any]) -> Any:
        return self.function(
            *(result.resolve(context) for result in self.results), **self.constants
        )

    def __repr__(self) -> str:
        # The serialized DAG stores a template field's str(): keep it free of object ids,
        # or the DAG would look changed at every parse.
        arguments = [repr(result) for result in self.results]
        arguments += [f"{name}={value!r}" for name, value in self.constants.items()]
        return f"{self.function.__name__}({', '.join(arguments)})"


def records_between(start: Mapping[str, Any], end: Mapping[str, Any], topic: str) -> int:
    """Records added to ``topic`` between two end-offset snapshots (``SnapshotEndOffsets``)."""
    return sum(end["topics"][topic].values()) - sum(start["topics"][topic].values())


def total_lag(group_offsets: Mapping[str, Any]) -> int:
    """A group's total lag in its offsets snapshot (``SnapshotGroupOffsets``)."""
    return group_offsets["lag"]["total_lag"]
