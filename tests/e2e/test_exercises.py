"""Each exercise end to end with `airflow dags test`, and its sabotage twin.

A sabotage run selects the exercise's ``fault`` param: the outcome is broken on
purpose and the run must fail with a message that names what is wrong. Params keep
the runs small; the exercise logic is the same.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from kafkalab.airflow_api import AirflowApi
from tests.helpers import REPO_ROOT, lab

SMALL = {
    "kafka_ingest_basic": {"events": 300},
    "kafka_fanout_consumer_groups": {
        "rate": 100,
        "lag_threshold": 1000,
        "hold_seconds": 15,
        "timeout_seconds": 240,
    },
    # Small replay batches: the table gets several commits, one of which a fault can drop.
    "kafka_dr_replay_drill": {
        "rate": 100,
        "min_lag_growth": 200,
        "replay_batch_records": 3000,
        "timeout_seconds": 300,
    },
    "kafka_repartition_scaling": {"rate": 500, "load_seconds": 8, "timeout_seconds": 180},
}
# (DAG, fault, extra params, what the failure must say). A frozen Spark job falls behind
# by the financial half of the rate (50/s): past the 1000 threshold within the 30 s hold.
SABOTAGE = [
    ("kafka_ingest_basic", "duplicate_records", {}, "events published more than once"),
    (
        "kafka_fanout_consumer_groups",
        "freeze_spark",
        {"hold_seconds": 30, "timeout_seconds": 90},
        "expected total lag to stay at most 1000",
    ),
    (
        "kafka_fanout_consumer_groups",
        "consumer_stopped_early",
        {},
        "not every group received every message",
    ),
    (
        "kafka_dr_replay_drill",
        "drop_delta_commit",
        {},
        "does not hold raw_financial_transactions exactly once",
    ),
    ("kafka_repartition_scaling", "recreate_topic", {}, "has 3 partitions, expected 6"),
]


@pytest.fixture(scope="module")
def api(settings) -> AirflowApi:
    return AirflowApi(settings)


def dags_test(api: AirflowApi, dag_id: str, conf: dict) -> subprocess.CompletedProcess:
    api.wait_for_dag(dag_id)
    # Paused, the running scheduler leaves the test's run alone: `dags test` executes
    # every task itself, and two executors on one run would trip over each other.
    api.client.patch(f"{api.base}/dags/{dag_id}", json={"is_paused": True})
    return subprocess.run(
        [str(REPO_ROOT / "lab"), "airflow", "dags", "test", dag_id, "-c", json.dumps(conf)],
        capture_output=True,
        text=True,
        timeout=1800,
    )


@pytest.mark.parametrize("dag_id", list(SMALL))
def test_exercise_passes(api, dag_id: str) -> None:
    result = dags_test(api, dag_id, SMALL[dag_id])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "state=success" in output


@pytest.mark.parametrize(
    ("dag_id", "fault", "extra", "message"), SABOTAGE, ids=[f"{d}-{f}" for d, f, _, _ in SABOTAGE]
)
def test_sabotaged_exercise_fails_naming_the_damage(
    api, dag_id: str, fault: str, extra: dict, message: str
) -> None:
    result = dags_test(api, dag_id, {**SMALL[dag_id], **extra, "fault": fault})
    output = result.stdout + result.stderr
    assert result.returncode != 0, f"{dag_id} passed although {fault} broke it"
    assert message in output, output[-6000:]


def test_readme_quickstart_runs_the_ingest_exercise_through_the_rest_api() -> None:
    result = lab("run", "ingest", "--conf", "events=300", timeout=1200)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    assert "PASSED: kafka_ingest_basic" in result.stderr
    assert "**Verdict: PASSED**" in result.stdout
