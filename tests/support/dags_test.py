"""Run an exercise DAG with `airflow dags test` against the running stack, and read its states."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import NamedTuple

from kafkalab.lab.airflow_api import AirflowApi
from kafkalab.settings import get_settings
from tests.support.lab import REPO_ROOT


class DagsTest(NamedTuple):
    result: subprocess.CompletedProcess
    run_id: str
    states: dict[str, str | None]
    saved: Path

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    def explained(self) -> str:
        """What a failed assertion shows: the run's error lines, its end, and the full log.

        A run's output is tens of thousands of lines; the task that failed first is often
        far from its end, so its error lines are picked out before the tail.
        """
        lines = self.output.splitlines()
        errors = [line[:400] for line in lines if ERROR_LINE.search(line)][:40]
        return "\n".join(
            [
                f"run {self.run_id}; whole output: {self.saved}",
                "error lines:",
                *errors,
                "end of output:",
                self.output[-4000:],
            ]
        )


ERROR_LINE = re.compile(r"Traceback|\bERROR\b|Error:|Exception:|AirflowFailException")


def save_output(dag_id: str, started: dt.datetime, result: subprocess.CompletedProcess) -> Path:
    """The run's whole output, kept under the lab's logs for a failure's post-mortem."""
    saved = get_settings().paths.logs / "dags-test" / f"{dag_id}-{started:%Y%m%dT%H%M%S}.log"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(result.stdout + result.stderr)
    return saved


def dags_test(api: AirflowApi, dag_id: str, conf: dict) -> DagsTest:
    """Run the DAG with `airflow dags test`; its output, its run and its task states."""
    api.wait_for_dag(dag_id)
    was_paused = api.is_paused(dag_id)
    started = dt.datetime.now(dt.UTC)
    result = subprocess.run(
        [str(REPO_ROOT / "lab"), "airflow", "dags", "test", dag_id, "-c", json.dumps(conf)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    saved = save_output(dag_id, started, result)
    try:
        run_id = find_run(api, dag_id, conf, started)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; whole output: {saved}") from None
    # `./lab airflow dags test` pauses the DAG for the run (AirflowApi.paused), so the
    # stack's scheduler leaves the run to `dags test`, and then puts it back as it was.
    assert api.is_paused(dag_id) == was_paused, f"{dag_id} was not left as it was found"
    enqueued = scheduler_enqueued(run_id)
    assert not enqueued, f"the stack's scheduler executed tasks of the test's run: {enqueued}"
    return DagsTest(result, run_id, api.task_states(dag_id, run_id), saved)


def scheduler_enqueued(run_id: str) -> list[str]:
    """The scheduler's log lines that sent a task of ``run_id`` to its executor."""
    log = get_settings().paths.logs / "airflow-scheduler.log"
    if not log.exists():
        return []
    with log.open(errors="replace") as lines:
        return [line.strip()[:300] for line in lines if "enqueue" in line and run_id in line]


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
