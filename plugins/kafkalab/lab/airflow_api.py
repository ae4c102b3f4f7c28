"""Run an exercise DAG through Airflow's REST API, as the UI does, and follow it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from kafkalab.lab.stack.environment import airflow_admin_password
from kafkalab.settings import LabSettings

EXERCISE_DAGS = {
    "ingest": "kafka_ingest_basic",
    "fanout": "kafka_fanout_consumer_groups",
    "replay": "kafka_dr_replay_drill",
    "repartition": "kafka_repartition_scaling",
    "failover": "kafka_broker_failover_drill",
}
# The exercises that need Kafka's three-broker cluster (`./lab up --brokers 3`).
CLUSTER_EXERCISES = {"failover"}
FINISHED = {"success", "failed"}


class AirflowApiError(RuntimeError):
    pass


@dataclass
class RunOutcome:
    dag_id: str
    run_id: str
    state: str
    seconds: float
    task_states: dict[str, str | None]
    report: dict[str, Any] | None
    failures: dict[str, str] = field(default_factory=dict)


class AirflowApi:
    def __init__(self, settings: LabSettings, timeout: float = 30.0) -> None:
        self.base = f"{settings.airflow_url}/api/v2"
        token = httpx.post(
            f"{settings.airflow_url}/auth/token",
            json={"username": settings.airflow_user, "password": airflow_admin_password(settings)},
            timeout=timeout,
        )
        if token.status_code not in (200, 201):
            raise AirflowApiError(
                f"Airflow refused the lab's login: {token.status_code} {token.text}"
            )
        self.client = httpx.Client(
            headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=timeout
        )

    def _get(self, path: str, **params: Any) -> Any:
        response = self.client.get(f"{self.base}{path}", params=params)
        if response.status_code >= 400:
            raise AirflowApiError(f"GET {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def wait_for_dag(self, dag_id: str, timeout: float = 120.0) -> None:
        """New DAG files take a parse cycle to appear; import errors are said at once."""
        deadline = time.monotonic() + timeout
        while True:
            response = self.client.get(f"{self.base}/dags/{dag_id}")
            if response.status_code == 200:
                return
            errors = self._get("/importErrors").get("import_errors", [])
            for error in errors:
                if dag_id.split("_", 1)[-1] in error.get("filename", ""):
                    raise AirflowApiError(
                        f"{error['filename']} does not import:\n{error['stack_trace']}"
                    )
            if time.monotonic() > deadline:
                raise AirflowApiError(f"Airflow does not know DAG {dag_id} after {timeout:.0f}s")
            time.sleep(2)

    def is_paused(self, dag_id: str) -> bool:
        return bool(self._get(f"/dags/{dag_id}")["is_paused"])

    def set_paused(self, dag_id: str, paused: bool) -> None:
        response = self.client.patch(f"{self.base}/dags/{dag_id}", json={"is_paused": paused})
        if response.status_code >= 400:
            raise AirflowApiError(
                f"{'pausing' if paused else 'unpausing'} {dag_id}: {response.status_code} "
                f"{response.text[:300]}"
            )

    @contextmanager
    def paused(self, dag_id: str) -> Iterator[None]:
        """The DAG paused for the block, then left as it was found.

        `airflow dags test` executes every task of its run itself, and the stack's
        scheduler schedules the runs of an unpaused DAG, that run included: two
        executors on one run trip over each other (a sensor resumed by one while the
        other starts it). Paused, the scheduler leaves the run alone.
        """
        was_paused = self.is_paused(dag_id)
        if not was_paused:
            self.set_paused(dag_id, True)
        try:
            yield
        finally:
            # On a user's stack the nightly drill is scheduled: leave it as it was found.
            if not was_paused:
                self.set_paused(dag_id, False)

    def recent_runs(self, dag_id: str, limit: int = 10) -> list[dict[str, Any]]:
        """The DAG's newest runs first (by ``run_after``)."""
        return self._get(f"/dags/{dag_id}/dagRuns", order_by="-run_after", limit=limit)["dag_runs"]

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        self.set_paused(dag_id, False)
        response = self.client.post(
            f"{self.base}/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf}
        )
        if response.status_code >= 400:
            raise AirflowApiError(f"triggering {dag_id}: {response.status_code} {response.text}")
        return response.json()["dag_run_id"]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        data = self._get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=200)
        return {ti["task_id"]: ti["state"] for ti in data["task_instances"]}

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self._get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        response = self.client.get(
            f"{self.base}/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
            "/xcomEntries/return_value"
        )
        return response.json().get("value") if response.status_code == 200 else None

    def failure_message(self, dag_id: str, run_id: str, task_id: str) -> str:
        """The exception lines of a failed task's last try: what the check said."""
        instance = self._get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}")
        try_number = max(instance.get("try_number") or 1, 1)
        response = self.client.get(
            f"{self.base}/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            return f"(no log: {response.status_code})"
        lines = []
        for entry in response.json().get("content", []):
            if isinstance(entry, dict):
                lines.append(str(entry.get("event", "")))
                for error in entry.get("error_detail") or []:
                    lines.append(f"{error.get('exc_type')}: {error.get('exc_value')}")
            else:
                lines.append(str(entry))
        wanted = [line for line in lines if "Exception:" in line or "Error:" in line]
        return "\n".join(wanted[-3:]) or "\n".join(lines[-5:])

    def run(
        self,
        dag_id: str,
        conf: dict[str, Any],
        progress: Callable[[str], None],
        timeout: float = 3600.0,
        poll: float = 2.0,
    ) -> RunOutcome:
        self.wait_for_dag(dag_id)
        run_id = self.trigger(dag_id, conf)
        progress(f"triggered {dag_id}, run {run_id}")
        started = time.monotonic()
        seen: dict[str, str | None] = {}
        state = "queued"
        while time.monotonic() - started < timeout:
            states = self.task_states(dag_id, run_id)
            for task_id, task_state in sorted(states.items()):
                if seen.get(task_id) != task_state and task_state not in (
                    None,
                    "scheduled",
                    "queued",
                ):
                    progress(f"  {task_id:<45} {task_state}")
                seen[task_id] = task_state
            state = self.run_state(dag_id, run_id)
            if state in FINISHED:
                break
            time.sleep(poll)
        failures = {
            task_id: self.failure_message(dag_id, run_id, task_id)
            for task_id, task_state in seen.items()
            if task_state == "failed" and task_id != "report"
        }
        return RunOutcome(
            dag_id,
            run_id,
            state,
            time.monotonic() - started,
            seen,
            self.xcom(dag_id, run_id, "report"),
            failures,
        )
