"""Run an exercise DAG with `airflow dags test` against the running stack, and read its states."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from typing import NamedTuple

from kafkalab.lab.airflow_api import AirflowApi
from tests.support.lab import REPO_ROOT


class DagsTest(NamedTuple):
    result: subprocess.CompletedProcess
    run_id: str
    states: dict[str, str | None]


def dags_test(api: AirflowApi, dag_id: str, conf: dict) -> DagsTest:
    """Run the DAG with `airflow dags test`; its output, its run and its task states."""
    api.wait_for_dag(dag_id)
    # Paused, the running scheduler leaves the test's run alone: `dags test` executes
    # every task itself, and two executors on one run would trip over each other.
    was_paused = api.is_paused(dag_id)
    api.set_paused(dag_id, True)
    started = dt.datetime.now(dt.UTC)
    try:
        result = subprocess.run(
            [str(REPO_ROOT / "lab"), "airflow", "dags", "test", dag_id, "-c", json.dumps(conf)],
            capture_output=True,
            text=True,
            timeout=1800,
            # A native crash (a client library's thread) then prints every thread's
            # Python stack instead of only a returncode of -11.
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        )
        run_id = find_run(api, dag_id, conf, started)
        return DagsTest(result, run_id, api.task_states(dag_id, run_id))
    finally:
        # On a user's stack the nightly drill is scheduled: leave it as it was found.
        if not was_paused:
            api.set_paused(dag_id, False)


def find_run(api: AirflowApi, dag_id: str, conf: dict, started: dt.datetime) -> str:
    """The `dags test` run: the newest run since ``started`` with ``conf``."""
    runs = api.recent_runs(dag_id)
    for run in runs:
        run_after = dt.datetime.fromisoformat(run["run_after"].replace("Z", "+00:00"))
        if run_after >= started - dt.timedelta(seconds=5) and run.get("conf") == conf:
            return run["dag_run_id"]
    raise AssertionError(
        f"no run of {dag_id} with conf {conf} since {started:%H:%M:%S}; newest runs: "
        f"{[(r['dag_run_id'], r.get('conf')) for r in runs[:3]]}"
    )


def state_mismatches(states: dict[str, str | None], expected: dict[str, str]) -> list[str]:
    """``task: seen (expected ...)`` for every task whose state is not the expected one."""
    return [
        f"{task}: {states.get(task, 'absent')} (expected {want})"
        for task, want in sorted(expected.items())
        if states.get(task) != want
    ]
