"""Airflow's trigger rules replayed over a DAG's graph, to know a run's task states in advance.

The scheduler decides a task's state from its direct upstream tasks' states with
``TriggerRuleDep`` (``airflow/ti_deps/deps/trigger_rule_dep.py``, Airflow 3): under
``all_success`` one skipped upstream task skips the task, one failed one makes it
``upstream_failed``; ``none_failed`` runs after skips but not after failures;
``all_done`` runs whatever happened. Replaying those rules in topological order gives
every task's final state for a run in which each task that gets to run succeeds,
except the ones we say fail and the fault tasks that skip themselves.

Used by the DAG-integrity tests (which tasks can a ``fault`` value skip?) and by the
end-to-end tests (which states must a real run end with?).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from kafkalab.operators.failover import EnsureBrokersUpOperator, RestoreReplicationOperator
from kafkalab.operators.faults import FaultOperator
from kafkalab.operators.generator import StopGeneratorOperator
from kafkalab.operators.report import LabReportOperator
from kafkalab.operators.spark import StopStreamingJobOperator

SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED = "success", "failed", "skipped", "upstream_failed"

# Tasks that must run whatever happened before them: they stop what a run started, or
# write its report. Every other task must not run once something upstream failed.
CLEANUP_OPERATORS = (
    StopStreamingJobOperator,
    StopGeneratorOperator,
    EnsureBrokersUpOperator,
    RestoreReplicationOperator,
    LabReportOperator,
)


def fault_values(dag: Any) -> list[str]:
    """The values of the DAG's ``fault`` param (``["none"]`` when it has none)."""
    if "fault" not in dag.params:
        return ["none"]
    return list(dag.params.get_param("fault").schema["enum"])


def fault_tasks(dag: Any) -> dict[str, str]:
    """task id -> the fault it injects."""
    return {t.task_id: t.fault for t in dag.tasks if isinstance(t, FaultOperator)}


def is_cleanup(dag: Any, task_id: str) -> bool:
    return isinstance(dag.get_task(task_id), CLEANUP_OPERATORS)


def state_by_rule(rule: str, upstream_states: list[str]) -> str | None:
    """The state the scheduler sets from finished upstream states, or None: the task runs.

    The branches of ``TriggerRuleDep._evaluate_direct_relatives`` with
    ``flag_upstream_failed`` (as the scheduler and ``airflow dags test`` evaluate it),
    for the states a run of these DAGs can reach: no mapped tasks, no setup/teardown.
    """
    if not upstream_states or rule == "always":
        return None  # Airflow passes a task without upstream tasks, or `always`, at once
    success = upstream_states.count(SUCCESS)
    skipped = upstream_states.count(SKIPPED)
    failed = upstream_states.count(FAILED) + upstream_states.count(UPSTREAM_FAILED)
    upstream = len(upstream_states)
    if rule == "all_success":
        return UPSTREAM_FAILED if failed else SKIPPED if skipped else None
    if rule == "all_failed":
        return SKIPPED if success or skipped else None
    if rule == "all_done":
        return None
    if rule == "one_success":
        return SKIPPED if skipped == upstream else UPSTREAM_FAILED if not success else None
    if rule == "one_failed":
        return None if failed else SKIPPED
    if rule == "one_done":
        return None if upstream_states.count(FAILED) or success else SKIPPED
    if rule == "none_failed":
        return UPSTREAM_FAILED if failed else None
    if rule == "none_failed_min_one_success":
        if failed:
            return UPSTREAM_FAILED
        return SKIPPED if skipped == upstream else UPSTREAM_FAILED if not success else None
    if rule == "none_skipped":
        return SKIPPED if skipped else None
    if rule == "all_skipped":
        return SKIPPED if success or failed else None
    if rule == "all_done_min_one_success":
        return SKIPPED if skipped else UPSTREAM_FAILED if not success else None
    raise NotImplementedError(f"trigger rule {rule!r} is not replayed here; add it")


def topological_order(dag: Any) -> list[str]:
    upstream = {t.task_id: set(t.upstream_task_ids) for t in dag.tasks}
    order: list[str] = []
    while upstream:
        ready = sorted(t for t, ups in upstream.items() if ups <= set(order))
        if not ready:
            raise ValueError(f"{dag.dag_id} has a cycle among {sorted(upstream)}")
        for task_id in ready:
            order.append(task_id)
            del upstream[task_id]
    return order


def simulate_run(dag: Any, fault: str, failing: Collection[str] = ()) -> dict[str, str]:
    """Every task's final state in a run with ``params.fault == fault``.

    A task that gets to run succeeds, unless it is in ``failing`` (it fails) or it is a
    fault task of another fault (it skips itself, as FaultOperator does).
    """
    faults = fault_tasks(dag)
    states: dict[str, str] = {}
    for task_id in topological_order(dag):
        task = dag.get_task(task_id)
        if task.is_setup or task.is_teardown:
            raise NotImplementedError(f"{task_id}: setup/teardown rules are not replayed here")
        rule = getattr(task.trigger_rule, "value", task.trigger_rule)
        decided = state_by_rule(rule, [states[u] for u in task.upstream_task_ids])
        if decided is not None:
            states[task_id] = decided
        elif task_id in faults and faults[task_id] != fault:
            states[task_id] = SKIPPED
        elif task_id in failing:
            states[task_id] = FAILED
        else:
            states[task_id] = SUCCESS
    return states
