"""Every DAG file imports cleanly, cheaply, and is wired as the exercises require."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from airflow.models import DagBag

from tests.support.lab import REPO_ROOT

DAG_FILES = sorted((REPO_ROOT / "dags").glob("*.py"))
EXERCISES = {
    "kafka_ingest_basic",
    "kafka_fanout_consumer_groups",
    "kafka_dr_replay_drill",
    "kafka_repartition_scaling",
    "kafka_broker_failover_drill",
}
HEAVY = ["pyspark", "pandas", "deltalake", "pyarrow", "minio", "aiohttp", "faker"]


def test_no_import_errors(dagbag: DagBag) -> None:
    assert dagbag.import_errors == {}


def test_the_exercises_are_there(dagbag: DagBag) -> None:
    assert set(dagbag.dag_ids) >= EXERCISES


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_importing_a_dag_file_loads_nothing_heavy(path: Path) -> None:
    # A fresh interpreter, as the dag-processor's: what does the file itself pull in?
    probe = (
        "import importlib.util, json, sys, time\n"
        f"spec = importlib.util.spec_from_file_location('probe', {str(path)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "started = time.perf_counter()\n"
        "spec.loader.exec_module(module)\n"
        "print(json.dumps({'seconds': time.perf_counter() - started,\n"
        f"                  'heavy': [m for m in {HEAVY!r} if m in sys.modules]}}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"{path.name}: parsed in {outcome['seconds']:.2f}s")  # reported, not asserted
    assert outcome["heavy"] == [], f"{path.name} imports {outcome['heavy']} at parse time"


@pytest.mark.parametrize("dag_id", sorted(EXERCISES))
def test_exercise_wiring(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.get_dag(dag_id)
    assert "kafkalab" in dag.tags
    assert "Objective" in dag.doc_md and "Verified" in dag.doc_md
    assert dag.params["fault"] == "none", "a fault must be opt-in"
    report = dag.get_task("report")
    assert report.trigger_rule == "all_done"
    assert report.downstream_task_ids == set()
    upstream_of_report = report.get_flat_relative_ids(upstream=True)
    assert upstream_of_report == set(dag.task_ids) - {"report"}, "the report must see every task"
    for task in dag.tasks:
        assert task.execution_timeout is not None or task.task_id == "report", task.task_id


def test_the_dr_drill_runs_nightly_without_catchup(dagbag: DagBag) -> None:
    dag = dagbag.get_dag("kafka_dr_replay_drill")
    assert dag.timetable.expression == "0 2 * * *"
    assert dag.catchup is False
