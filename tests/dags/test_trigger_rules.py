"""No check can be skipped, and none runs after a failure: Airflow's trigger rules, replayed.

A fault task skips itself unless its fault is selected. Under ``all_success`` that
skip travels down every edge after it, and a check that is skipped never ran: the
run would look green while proving nothing. For every DAG and every value of its
``fault`` param, the rules are replayed over the graph (``trigger_rules.py``): the
only skipped tasks may be the fault tasks that were not selected. And wherever a task
fails, no task after it may still run, apart from the ones that stop what the run
started and the report.
"""

from __future__ import annotations

import datetime as dt

import pytest
from airflow.models import DagBag
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, Param

from kafkalab.operators.faults import FaultOperator
from tests.support.lab import REPO_ROOT
from tests.support.trigger_rules import (
    FAILED,
    SKIPPED,
    SUCCESS,
    UPSTREAM_FAILED,
    fault_tasks,
    fault_values,
    is_cleanup,
    simulate_run,
)

# One DAG per file, named after it.
DAG_IDS = sorted(path.stem for path in (REPO_ROOT / "dags").glob("*.py"))


def _why(dag, states: dict[str, str], task_id: str) -> str:
    task = dag.get_task(task_id)
    rule = getattr(task.trigger_rule, "value", task.trigger_rule)
    upstream = ", ".join(f"{u}={states[u]}" for u in sorted(task.upstream_task_ids))
    return f"trigger rule {rule}, upstream {upstream or '(none)'}"


def skip_problems(dag) -> list[str]:
    """Every (fault value, task) where a task other than an unselected fault task skips."""
    faults = fault_tasks(dag)
    problems = []
    for fault in fault_values(dag):
        states = simulate_run(dag, fault)
        may_skip = {task for task, injects in faults.items() if injects != fault}
        for task_id, state in sorted(states.items()):
            if state == SKIPPED and task_id not in may_skip:
                problems.append(
                    f"fault={fault}: {task_id} would be skipped, never run "
                    f"({_why(dag, states, task_id)})"
                )
            elif task_id in may_skip and state != SKIPPED:
                problems.append(f"fault={fault}: fault task {task_id} would be {state}")
    return problems


def failure_problems(dag) -> list[str]:
    """Every (fault value, failed task, task after it) where the latter still runs."""
    problems = []
    for fault in fault_values(dag):
        normal = simulate_run(dag, fault)
        for task_id, state in sorted(normal.items()):
            if state != SUCCESS or is_cleanup(dag, task_id):
                continue
            states = simulate_run(dag, fault, failing={task_id})
            for after in sorted(dag.get_task(task_id).get_flat_relative_ids(upstream=False)):
                if states[after] == SUCCESS and not is_cleanup(dag, after):
                    problems.append(
                        f"fault={fault}: when {task_id} fails, {after} still runs "
                        f"({_why(dag, states, after)})"
                    )
    return problems


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_only_fault_tasks_that_were_not_selected_are_skipped(dagbag: DagBag, dag_id: str) -> None:
    problems = skip_problems(dagbag.get_dag(dag_id))
    assert not problems, (
        f"{dag_id}: a skipped task never ran, so its check proves nothing. Give the tasks "
        "right after a fault task trigger_rule='none_failed', and do not end a task group "
        "with a fault task (`group >> next_group` hands its skip to every first task of "
        "the next group):\n  " + "\n  ".join(problems)
    )


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_a_failed_task_stops_every_check_after_it(dagbag: DagBag, dag_id: str) -> None:
    problems = failure_problems(dagbag.get_dag(dag_id))
    assert not problems, (
        f"{dag_id}: a check that runs after a failure works on an outcome that was never "
        "reached. Wire the task before a cleanup task (all_done) to what follows it too, "
        "and keep all_done / always for tasks that stop things or report:\n  "
        + "\n  ".join(problems[:20])
    )


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_every_fault_value_has_its_fault_task(dagbag: DagBag, dag_id: str) -> None:
    dag = dagbag.get_dag(dag_id)
    injected = set(fault_tasks(dag).values())
    offered = set(fault_values(dag)) - {"none"}
    assert injected == offered, (
        f"{dag_id}: the fault param offers {sorted(offered)}, fault tasks inject "
        f"{sorted(injected)}: a fault value without its task breaks nothing"
    )


# --- the replay itself, on small DAGs with a known outcome ---------------------------------


def _fault_then_check(check_rule: str) -> DAG:
    with DAG(
        "probe",
        schedule=None,
        start_date=dt.datetime(2026, 1, 1),
        params={"fault": Param("none", enum=["none", "x"])},
    ) as dag:
        target = EmptyOperator(task_id="target")
        fault = FaultOperator(task_id="fault_x", fault="x", inject=dict)
        check = EmptyOperator(task_id="check", trigger_rule=check_rule)
        after = EmptyOperator(task_id="after")
        stop = EmptyOperator(task_id="stop", trigger_rule="all_done")
        target >> fault >> check >> after >> stop
    return dag


def test_the_replay_skips_a_check_after_an_unselected_fault_under_all_success() -> None:
    # The fan-out defect this guards against: spark_lag_stays_low after fault_freeze_spark.
    dag = _fault_then_check("all_success")
    states = simulate_run(dag, "none")
    assert (states["fault_x"], states["check"], states["after"]) == (SKIPPED, SKIPPED, SKIPPED)
    assert states["stop"] == SUCCESS
    assert simulate_run(dag, "x")["check"] == SUCCESS
    assert "check would be skipped" in "\n".join(skip_problems(dag))


def test_the_replay_runs_a_none_failed_check_after_a_skip_but_not_after_a_failure() -> None:
    dag = _fault_then_check("none_failed")
    assert skip_problems(dag) == []
    states = simulate_run(dag, "none", failing={"target"})
    assert (states["target"], states["fault_x"], states["check"]) == (
        FAILED,
        UPSTREAM_FAILED,
        UPSTREAM_FAILED,
    )
    assert states["stop"] == SUCCESS  # all_done: it stops things whatever happened


def test_the_replay_names_a_check_that_runs_after_a_failure() -> None:
    dag = _fault_then_check("all_done")
    assert "when target fails, check still runs" in "\n".join(failure_problems(dag))
