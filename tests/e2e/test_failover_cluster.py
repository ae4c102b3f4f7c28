"""The three-broker cluster: up, the failover drill and its sabotage runs, down.

The module switches the suite's stack to three Kafka nodes (`./lab up --brokers 3`
does the same) and back to one broker when it ends, so the tiers around it run on the
default topology.
"""

from __future__ import annotations

from collections.abc import Iterator

import psutil
import pytest

from kafkalab.lab.stack.kafka import kafka_nodes
from kafkalab.lab.stack.lifecycle import Stack
from kafkalab.settings import LabSettings
from tests.support.dags_test import dags_test, state_mismatches
from tests.support.exercise_params import SMALL
from tests.support.trigger_rules import SKIPPED, simulate_run

FAILOVER = "kafka_broker_failover_drill"
FAILOVER_SMALL = {"rate": 50, "outage_records": 100, "timeout_seconds": 600}
# (fault, extra params, the check that must fail, what its failure must say)
FAILOVER_SABOTAGE = [
    (
        "broker_not_restarted",
        {"max_rejoin_seconds": 30},
        "failover.isr_recovered",
        "back in every ISR) not seen within",
    ),
    (
        "replication_factor_1",
        {},
        "failover.new_leaders_elected",
        "no leader (offline)",
    ),
]


@pytest.fixture(scope="module")
def cluster(settings: LabSettings) -> Iterator[LabSettings]:
    three = settings.model_copy(update={"kafka_brokers": 3})
    Stack(three).up()
    try:
        # `airflow dags test` and `./lab` run in their own processes, from this environment.
        with pytest.MonkeyPatch.context() as environment:
            environment.setenv("KAFKALAB_BROKERS", "3")
            yield three
    finally:
        Stack(settings).up()


def test_the_cluster_runs_three_nodes_in_one_quorum_with_replicated_topics(cluster) -> None:
    from kafkalab.kafka.admin import KafkaAdmin

    stack = Stack(cluster)
    report = stack.status()
    unhealthy = {name: h.detail for name, (_, h) in report.items() if not h.healthy}
    assert not unhealthy, unhealthy
    assert "voters 1,2,3" in stack.controller_quorum()
    with KafkaAdmin(cluster) as admin:
        brokers = admin.broker_ids()
        described = admin.describe_topic("raw_financial_transactions")
        states = admin.partition_states("raw_financial_transactions")
    assert brokers == [1, 2, 3]
    assert described.replication_factor == 3
    assert all(len(s.isr) == 3 for s in states), states


def test_the_failover_drill_passes(cluster, api, dagbag) -> None:
    run = dags_test(api, FAILOVER, FAILOVER_SMALL)
    assert run.result.returncode == 0, run.explained()
    wrong = state_mismatches(run.states, simulate_run(dagbag.get_dag(FAILOVER), "none"))
    assert not wrong, wrong
    figures = api.xcom(FAILOVER, run.run_id, "verify.failover_figures")
    assert figures["ingest"]["acknowledged_during_outage"] > 0
    headline = api.xcom(FAILOVER, run.run_id, "report")["headline"]
    blank = [figure["name"] for figure in headline if figure["value"] is None]
    assert not blank, f"headline figures without a value: {blank}"


# The cluster marker keeps a test out of the default run (pyproject's addopts), to keep
# `.ci/run` within its hour: `./lab test -m cluster tests/e2e/test_failover_cluster.py`.
@pytest.mark.cluster
@pytest.mark.parametrize("dag_id", list(SMALL))
def test_every_other_exercise_passes_on_the_cluster(cluster, api, dagbag, dag_id: str) -> None:
    run = dags_test(api, dag_id, SMALL[dag_id])
    assert run.result.returncode == 0, run.explained()
    wrong = state_mismatches(run.states, simulate_run(dagbag.get_dag(dag_id), "none"))
    assert not wrong, wrong


@pytest.mark.cluster
@pytest.mark.parametrize(
    ("fault", "extra", "check", "message"),
    FAILOVER_SABOTAGE,
    ids=[f for f, *_ in FAILOVER_SABOTAGE],
)
def test_a_sabotaged_drill_fails_naming_the_damage(
    cluster, api, fault: str, extra: dict, check: str, message: str
) -> None:
    run = dags_test(api, FAILOVER, {**FAILOVER_SMALL, **extra, "fault": fault})
    assert run.result.returncode != 0, f"the drill passed although {fault} broke it"
    assert message in run.output, run.explained()
    expected = {
        f"failover.fault_{fault}": "success",
        check: "failed",
        "report": "failed",
        # The teardown makes the cluster whole again, whatever happened.
        "teardown.brokers_back_up": "success",
        "teardown.replication_restored": "success",
    }
    wrong = state_mismatches(run.states, expected)
    # The other fault skips itself, or does not start when a phase before it failed.
    others = [f"failover.fault_{f}" for f, *_ in FAILOVER_SABOTAGE if f != fault]
    wrong += [
        f"{task}: {run.states.get(task)} (an unselected fault must not run)"
        for task in others
        if run.states.get(task) not in (SKIPPED, "upstream_failed")
    ]
    wrong += [
        f"{task}: skipped (only fault tasks that were not selected may skip)"
        for task, state in run.states.items()
        if state == SKIPPED and task not in others
    ]
    assert not wrong, wrong
    stack = Stack(cluster)
    assert all(h.healthy for _, h in stack.status().values())
    from kafkalab.kafka.admin import KafkaAdmin

    with KafkaAdmin(cluster) as admin:
        states_after = admin.partition_states("raw_financial_transactions")
    assert all(len(s.replicas) == 3 and len(s.isr) == 3 for s in states_after), states_after


def test_down_stops_every_node_and_leaves_no_process_behind(cluster) -> None:
    stack = Stack(cluster)
    started = []
    for name in stack.registry.names():
        handle = stack.registry.running(name)
        proc = handle.process() if handle else None
        if proc is not None:
            started += [proc, *proc.children(recursive=True)]
    stopped = stack.down()
    assert {n.service_name for n in kafka_nodes(cluster)} <= set(stopped)
    left = [f"{p.pid}: {' '.join(p.cmdline())[:160]}" for p in started if _alive(p)]
    # Kafka nodes by their configuration files, whoever started them.
    conf = str(cluster.paths.conf / "kafka")
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if "kafka.Kafka" in cmdline and conf in cmdline:
            left.append(f"{proc.info['pid']}: {cmdline[-160:]}")
    assert not left, "processes of the stack still running after down:\n" + "\n".join(left)


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
