"""The report at the end of every exercise: JSON + Markdown (+ lag plot) on the object store."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context, XComArg
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.domain.report import (
    REPORT_SCHEMA,
    check_rows,
    describe_not_passed,
    figures_without_a_task,
    headline_figures,
    lag_svg,
    render_markdown,
    unselected_faults,
    verdict_of,
)
from kafkalab.hooks.object_store import ObjectStoreHook
from kafkalab.operators.faults import FaultOperator
from kafkalab.settings import get_settings

# The XCom key under which a failed task leaves its failure message for the report.
FAILURE_KEY = "failure"


def record_failure(context: Context) -> None:
    """``on_failure_callback`` of every lab task: a failed task has no result, so its
    message would otherwise live only in its log."""
    exception = context.get("exception")
    if exception is not None:
        context["ti"].xcom_push(key=FAILURE_KEY, value=str(exception)[:4000])


class LabReportOperator(BaseOperator):
    """Collect figures and every task's state, write the report, return its summary.

    ``figures`` and ``lag_series`` map a name to the task (or its ``.output``) whose
    XCom holds it (lag series: a result with ``samples``, as a lag sensor's). The task
    itself, not its id: a renamed task then renames what the report reads, and a task
    that no longer exists fails at parse, instead of reading ``None``. The XComs are
    pulled here rather than resolved as XComArgs, because a failed task has no XCom and
    the report must still be written.

    Runs with ``trigger_rule="all_done"`` so a failed check still gets its report; it
    then fails itself, naming the failed tasks, so the run cannot end green. A skipped
    task fails the verdict too, unless it is a fault task whose fault was not selected:
    a check that Airflow skipped never ran, and must not read as passed.
    """

    template_fields: Sequence[str] = ("title",)
    ui_color = "#f9e79f"

    def __init__(
        self,
        *,
        title: str,
        figures: Mapping[str, BaseOperator | XComArg] | None = None,
        lag_series: Mapping[str, BaseOperator | XComArg] | None = None,
        headline: Mapping[str, tuple[str, str]] | None = None,
        bucket: str = "lab-reports",
        object_store_conn_id: str = "lab_object_store",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.title = title
        # Task ids, not the operators: an attribute holding other tasks would be copied
        # with this one (``partial_subset``, ``tasks test``) and is not needed after parse.
        self.figures = {name: self._source_task_id(name, s) for name, s in (figures or {}).items()}
        self.lag_series = {
            name: self._source_task_id(name, s) for name, s in (lag_series or {}).items()
        }
        self.headline = dict(headline or {})
        unknown = {
            name: path
            for name, (path, _) in self.headline.items()
            if path.split(".", 1)[0] not in self.figures
        }
        if unknown:
            raise ValueError(
                f"report {self.task_id}: headline figures read figures the report does not "
                f"have: {unknown} (figures: {sorted(self.figures)})"
            )
        self.bucket = bucket
        self.object_store_conn_id = object_store_conn_id

    def _source_task_id(self, name: str, source: object) -> str:
        if isinstance(source, XComArg):
            references = list(source.iter_references())
            if len(references) != 1 or references[0][1] != "return_value":
                raise ValueError(
                    f"report {self.task_id}: figure {name!r} must be one task's return value "
                    f"(task or task.output), not {source!r}"
                )
            source = references[0][0]
        if not isinstance(source, BaseOperator):
            raise TypeError(
                f"report {self.task_id}: figure {name!r} must be the task whose XCom holds it "
                f"(or its .output), not {source!r}: a task id string reads None, silently, "
                "once the task is renamed"
            )
        if self.has_dag() and source.has_dag() and source.dag is not self.dag:
            raise ValueError(
                f"report {self.task_id}: figure {name!r} reads {source.task_id} of DAG "
                f"{source.dag.dag_id}, not of {self.dag.dag_id}"
            )
        return source.task_id

    def execute(self, context: Context) -> dict[str, Any]:
        missing = figures_without_a_task({**self.figures, **self.lag_series}, self.dag.task_ids)
        if missing:
            raise AirflowFailException(
                f"the report reads figures from tasks this DAG does not have: {missing}"
            )
        ti = context["ti"]
        dag_id, run_id = ti.dag_id, ti.run_id
        states = ti.get_task_states(dag_id=dag_id, run_ids=[run_id]).get(run_id, {})
        states = {task: state for task, state in states.items() if task != self.task_id}
        fault_tasks = {
            task.task_id: task.fault for task in self.dag.tasks if isinstance(task, FaultOperator)
        }
        may_skip = unselected_faults(fault_tasks, context["params"].get("fault"))
        verdict, failed = verdict_of(states, may_skip)
        figures = {name: ti.xcom_pull(task_ids=task_id) for name, task_id in self.figures.items()}
        series = {}
        for name, task_id in self.lag_series.items():
            value = ti.xcom_pull(task_ids=task_id)
            if isinstance(value, dict):
                series[name] = [tuple(sample) for sample in value.get("samples", [])]
        failures = {
            task: ti.xcom_pull(task_ids=task, key=FAILURE_KEY)
            for task, state in states.items()
            if state == "failed"
        }
        order = [task for task in self.dag.task_ids if task != self.task_id]
        prefix = f"{dag_id}/{run_id}"
        location = f"s3://{self.bucket}/{prefix}/"
        headline = headline_figures(figures, self.headline)
        report = {
            "schema": REPORT_SCHEMA,
            "title": self.title,
            "dag_id": dag_id,
            "run_id": run_id,
            "fault": context["params"].get("fault", "none"),
            "written_at": time.time(),
            "verdict": verdict,
            "failed_tasks": failed,
            "checks": check_rows(order, states, may_skip, failures),
            "headline": headline,
            "links": {
                "full report (JSON)": f"{location}report.json",
                "full report (Markdown)": f"{location}report.md",
                "this run in Airflow": f"{get_settings().airflow_url}/dags/{dag_id}/runs/{run_id}",
            },
            "skipped_faults": sorted(may_skip & set(states)),
            "tasks": states,
            "figures": figures,
            "series": {"lag": series},
        }
        svg = lag_svg(series)
        client = ObjectStoreHook(self.object_store_conn_id).get_conn().client()
        if not client.bucket_exists(self.bucket):
            client.make_bucket(self.bucket)
        files = {
            "report.json": (json.dumps(report, indent=2, default=str), "application/json"),
            "report.md": (render_markdown(report, has_plot=bool(svg)), "text/markdown"),
        }
        if svg:
            files["lag.svg"] = (svg, "image/svg+xml")
        for name, (text, content_type) in files.items():
            data = text.encode()
            client.put_object(
                self.bucket,
                f"{prefix}/{name}",
                io.BytesIO(data),
                len(data),
                content_type=content_type,
            )
        self.log.info("report written to %s\n%s", location, files["report.md"][0])
        summary = {
            "verdict": verdict,
            "failed_tasks": failed,
            "report": location,
            "figures": self.figures,
            "headline": headline,
        }
        if verdict != "passed":
            raise AirflowFailException(
                f"exercise failed: {describe_not_passed(states, failed)} did not succeed "
                f"(report: {location})"
            )
        return summary
