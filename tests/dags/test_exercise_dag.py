"""What ``kafkalab.exercise`` gives every DAG: shared params, the setup group, the report.

The report reads its figures from the tasks it is given, not from task-id strings: a
renamed task renames what it reads, and a source that is not a task of the DAG fails
at parse (or, at the latest, when the report runs) instead of reading ``None``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.models import DagBag
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException
from airflow.serialization.serialized_objects import DagSerialization

from kafkalab.exercise import (
    ComputedValue,
    Report,
    lab_dag,
    lake_path,
    records_between,
    total_lag,
)
from kafkalab.operators.report import LabReportOperator, record_failure
from kafkalab.sensors.delta import DeltaTableSensor
from tests.support.lab import REPO_ROOT

EXERCISES = [
    "kafka_ingest_basic",
    "kafka_fanout_consumer_groups",
    "kafka_dr_replay_drill",
    "kafka_repartition_scaling",
    "kafka_broker_failover_drill",
]
WITH_SETUP_GROUP = [
    "kafka_ingest_basic",
    "kafka_fanout_consumer_groups",
    "kafka_dr_replay_drill",
    "kafka_broker_failover_drill",
]
DAG_IDS = sorted(path.stem for path in (REPO_ROOT / "dags").glob("*.py"))


@pytest.mark.parametrize("dag_id", EXERCISES)
def test_every_exercise_ends_its_params_with_timeout_and_fault(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.get_dag(dag_id)
    assert list(dag.params)[-2:] == ["timeout_seconds", "fault"]
    fault = dag.params.get_param("fault")
    assert fault.value == "none" and fault.schema["enum"][0] == "none"
    assert dag.params.get_param("timeout_seconds").schema == {"type": "integer", "minimum": 10}
    assert dag.catchup is False and dag.max_active_runs == 1
    assert "slug" in dag.user_defined_filters


@pytest.mark.parametrize("dag_id", WITH_SETUP_GROUP)
def test_the_exercises_on_the_lab_topics_start_with_the_setup_group(
    dagbag: DagBag, dag_id: str
) -> None:
    dag = dagbag.get_dag(dag_id)
    setup = {t.task_id for t in dag.tasks if t.task_group.group_id == "setup"}
    assert "setup.ingestor_healthy" in setup
    assert any(task.startswith("setup.ensure_") for task in setup)
    # Nothing outside the group runs before it.
    for task in dag.tasks:
        if task.task_id not in setup:
            assert task.get_flat_relative_ids(upstream=True) & setup, task.task_id


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_report_reads_tasks_of_its_own_dag(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.get_dag(dag_id)
    report = dag.get_task("report")
    assert isinstance(report, LabReportOperator)
    sources = {**report.figures, **report.lag_series}
    assert sources, "a report with no figures"
    assert set(sources.values()) <= set(dag.task_ids) - {"report"}


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_dag_belongs_to_its_file_and_serializes_the_same_twice(
    dagbag: DagBag, dag_id: str
) -> None:
    dag = dagbag.get_dag(dag_id)
    # Built by kafkalab.exercise, still the DAG file's: the UI shows it, workers parse it.
    assert Path(dag.fileloc) == REPO_ROOT / "dags" / f"{dag_id}.py"
    # Computed arguments are stored by their repr: no object ids, or every parse would
    # look like a new version of the DAG.
    assert DagSerialization.to_dict(dag) == DagSerialization.to_dict(dag)


# --- the helper itself, on small DAGs -------------------------------------------------------


def _probe(figures: dict[str, Any], lag_series: dict[str, Any] | None = None) -> DAG:
    @lab_dag(
        dag_id="probe", doc_md="probe", tags=["probe"], execution_timeout=dt.timedelta(minutes=1)
    )
    def probe() -> Report:
        first = EmptyOperator(task_id="first")
        last = EmptyOperator(task_id="last")
        first >> last
        return Report(
            title="probe",
            figures={name: make(first, last) for name, make in figures.items()},
            lag_series={name: make(first, last) for name, make in (lag_series or {}).items()},
        )

    return probe()


def test_the_report_comes_last_and_reads_the_tasks_it_was_given() -> None:
    dag = _probe({"a": lambda first, last: first, "b": lambda first, last: last.output})
    report = dag.get_task("report")
    assert report.upstream_task_ids == {"last"}
    assert report.trigger_rule == "all_done"
    assert report.figures == {"a": "first", "b": "last"}
    assert set(dag.tags) == {"kafkalab", "probe"}


def test_a_task_id_string_as_a_figure_fails_at_parse() -> None:
    with pytest.raises(TypeError, match="figure 'a' must be the task whose XCom holds it"):
        _probe({"a": lambda first, last: "first"})


def test_a_figure_from_another_dag_fails_at_parse() -> None:
    with DAG("elsewhere", schedule=None):
        stranger = EmptyOperator(task_id="stranger")
    with pytest.raises(ValueError, match="reads stranger of DAG elsewhere, not of probe"):
        _probe({"a": lambda first, last: stranger})


def test_a_headline_figure_outside_the_reports_figures_fails_at_parse() -> None:
    with DAG("probe", schedule=None):
        first = EmptyOperator(task_id="first")
        with pytest.raises(ValueError, match=r"headline figures read figures the report does"):
            LabReportOperator(
                task_id="report",
                title="t",
                figures={"a": first},
                headline={"events": ("b.acknowledged", "events")},
            )


@pytest.mark.parametrize("dag_id", EXERCISES)
def test_every_exercise_fails_its_tasks_with_a_message_for_the_report(
    dagbag: DagBag, dag_id: str
) -> None:
    dag = dagbag.get_dag(dag_id)
    assert all(record_failure in _callbacks(task) for task in dag.tasks), dag_id


def _callbacks(task: Any) -> list[Any]:
    callbacks = task.on_failure_callback
    return callbacks if isinstance(callbacks, list) else [callbacks]


def test_a_figure_whose_task_left_the_dag_fails_the_report_when_it_runs() -> None:
    dag = _probe({"a": lambda first, last: first})
    report = dag.get_task("report")
    report.figures = {"a": "renamed.first"}
    with pytest.raises(AirflowFailException, match=r"renamed\.first"):
        report.execute({})


class _TaskInstance:
    """What an XComArg pulls through at render time."""

    def __init__(self, xcoms: dict[str, Any]) -> None:
        self.xcoms = xcoms
        self._upstream_map_indexes: dict[str, Any] = {}  # not mapped: pull the one value

    def xcom_pull(self, task_ids: str, key: str, default: Any, map_indexes: Any) -> Any:
        return self.xcoms.get(task_ids, default)


def test_a_computed_argument_wires_its_sources_and_is_computed_at_render_time() -> None:
    with DAG("computed", schedule=None) as dag:
        start = EmptyOperator(task_id="start")
        target = EmptyOperator(task_id="target")
        landed = DeltaTableSensor(
            task_id="landed",
            path="s3a://bucket/table",
            min_rows=ComputedValue(records_between, start.output, target.output, topic="t"),
        )
    assert landed.upstream_task_ids == {"start", "target"}
    assert repr(landed.min_rows) == (
        "records_between(XComArg(<Task(EmptyOperator): start>), "
        "XComArg(<Task(EmptyOperator): target>), topic='t')"
    )
    ti = _TaskInstance(
        {
            "start": {"topics": {"t": {"0": 10, "1": 5}, "u": {"0": 99}}},
            "target": {"topics": {"t": {"0": 30, "1": 15}, "u": {"0": 0}}},
        }
    )
    landed.render_template_fields({"ti": ti, "task_instance": ti}, dag.get_template_env())
    assert landed.min_rows == 30


def test_total_lag_reads_a_group_offsets_snapshot() -> None:
    snapshot = {"group": "g", "topics": {}, "lag": {"total_lag": 1234, "partitions": []}}
    assert (
        ComputedValue(total_lag, SimpleNamespace(resolve=lambda context: snapshot)).resolve({})
        == 1234
    )


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_computed_arguments_sit_in_template_fields(dagbag: DagBag, dag_id: str) -> None:
    # Airflow resolves template fields only: anywhere else the task would get the object.
    misplaced = [
        f"{task.task_id}.{name}"
        for task in dagbag.get_dag(dag_id).tasks
        for name, value in vars(task).items()
        if isinstance(value, ComputedValue) and name not in task.template_fields
    ]
    assert not misplaced, f"computed outside a template field: {misplaced}"


def test_buckets_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKALAB_RAW_BUCKET", "other-raw")
    monkeypatch.setenv("KAFKALAB_REPORTS_BUCKET", "other-reports")
    assert (
        lake_path("exercises", "dr", "{{ run_id }}") == "s3a://other-raw/exercises/dr/{{ run_id }}"
    )
    assert _probe({"a": lambda first, last: first}).get_task("report").bucket == "other-reports"


def test_the_default_buckets_are_the_lab_s(dagbag: DagBag) -> None:
    spark = dagbag.get_dag("kafka_fanout_consumer_groups").get_task("stream.start_spark")
    assert (
        spark.output_path == "s3a://raw-data-bucket/exercises/fanout/{{ run_id | slug }}/financial"
    )
    assert dagbag.get_dag("kafka_ingest_basic").get_task("report").bucket == "lab-reports"
