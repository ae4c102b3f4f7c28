"""Each exercise end to end with `airflow dags test`, and its sabotage twin.

A sabotage run selects the exercise's ``fault`` param: the outcome is broken on
purpose and the run must fail with a message that names what is wrong. Params keep
the runs small; the exercise logic is the same.
"""

from __future__ import annotations

import pytest

from tests.support.dags_test import dags_test, state_mismatches
from tests.support.exercise_params import SMALL
from tests.support.lab import lab
from tests.support.trigger_rules import SKIPPED, fault_tasks, simulate_run

# (DAG, fault, extra params, the check that must fail, what its failure must say). A
# frozen Spark job falls behind by the financial half of the rate (50/s) for the whole of
# the groups' reads, the last of which stays live for hold_seconds (30 s): past its
# baseline median + lag_threshold within about 20 s of that tail, whatever the machine.
SABOTAGE = [
    (
        "kafka_ingest_basic",
        "duplicate_records",
        {},
        "verify.records_exactly_once",
        "events published more than once",
    ),
    (
        "kafka_fanout_consumer_groups",
        "freeze_spark",
        {"hold_seconds": 30},
        "verify.spark_lag_stays_low",
        "fell behind while the new groups read",
    ),
    (
        "kafka_fanout_consumer_groups",
        "consumer_stopped_early",
        {},
        "verify.groups_received_everything",
        "not every group received every message",
    ),
    (
        "kafka_dr_replay_drill",
        "pause_not_held",
        {},
        "outage.pause_held",
        "did not stay paused",
    ),
    (
        "kafka_dr_replay_drill",
        "replay_wrong_schema",
        {},
        "verify.recovery_objectives",
        "were quarantined by the replay",
    ),
    (
        "kafka_dr_replay_drill",
        "drop_delta_commit",
        {},
        "verify.reprocessed_exactly_once",
        "does not hold raw_financial_transactions exactly once",
    ),
    (
        "kafka_repartition_scaling",
        "recreate_topic",
        {},
        "increase_partitions.describe_shows_new_count",
        "has 3 partitions, expected 6",
    ),
    (
        "kafka_repartition_scaling",
        "scaled_kept_to_baseline_cores",
        {},
        "verify.scaled_read_partitions_in_parallel",
        "the scaled phase did not read its partitions in parallel",
    ),
]


@pytest.mark.parametrize("dag_id", list(SMALL))
def test_exercise_passes(api, dagbag, dag_id: str) -> None:
    run = dags_test(api, dag_id, SMALL[dag_id])
    assert run.result.returncode == 0, run.explained()
    assert "state=success" in run.output
    # The exit code says the run ended green; the states say every check ran to say so.
    # Expected: every task succeeded, but the fault tasks, which skip themselves.
    expected = simulate_run(dagbag.get_dag(dag_id), "none")
    wrong = state_mismatches(run.states, expected)
    assert not wrong, (
        f"{dag_id} ended green, but not every check ran and passed (a skipped check proved "
        "nothing; see the trigger rules of the tasks named):\n  " + "\n  ".join(wrong)
    )
    # A headline path that names nothing in the run's figures shows "-" for ever.
    headline = api.xcom(dag_id, run.run_id, "report")["headline"]
    blank = [figure["name"] for figure in headline if figure["value"] is None]
    assert headline and not blank, f"{dag_id}: headline figures without a value: {blank}"


@pytest.mark.parametrize(
    ("dag_id", "fault", "extra", "check", "message"),
    SABOTAGE,
    ids=[f"{d}-{f}" for d, f, *_ in SABOTAGE],
)
def test_sabotaged_exercise_fails_naming_the_damage(
    api, dagbag, dag_id: str, fault: str, extra: dict, check: str, message: str
) -> None:
    run = dags_test(api, dag_id, {**SMALL[dag_id], **extra, "fault": fault})
    assert run.result.returncode != 0, f"{dag_id} passed although {fault} broke it"
    assert message in run.output, run.explained()
    # The right check failed, because the fault really ran, and no check was skipped.
    faults = fault_tasks(dagbag.get_dag(dag_id))
    selected = next(task for task, injects in faults.items() if injects == fault)
    expected = {selected: "success", check: "failed", "report": "failed"}
    wrong = state_mismatches(run.states, expected)
    # The other faults must not run: they skip themselves, or do not start at all when
    # a phase before them failed (the sabotage's own failure may be such a phase).
    wrong += [
        f"{task}: {run.states.get(task)} (an unselected fault must not run)"
        for task, injects in sorted(faults.items())
        if injects != fault and run.states.get(task) not in (SKIPPED, "upstream_failed")
    ]
    expected |= {task: SKIPPED for task, injects in faults.items() if injects != fault}
    wrong += [
        f"{task}: skipped (only fault tasks that were not selected may skip)"
        for task, state in sorted(run.states.items())
        if state == SKIPPED and task not in expected
    ]
    assert not wrong, f"{dag_id} with fault={fault}:\n  " + "\n  ".join(wrong)


def test_readme_quickstart_runs_the_ingest_exercise_through_the_rest_api() -> None:
    result = lab("run", "ingest", "--conf", "events=300", timeout=1200)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    assert "PASSED: kafka_ingest_basic" in result.stderr
    assert "**Verdict: PASSED**" in result.stdout
