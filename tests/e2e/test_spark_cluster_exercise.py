"""The repartition exercise on the lab's Spark standalone cluster (`./lab up --spark-cluster`).

The module starts the master and worker next to the suite's stack and stops them when it
ends, so the tiers around it run their Spark jobs in local mode.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kafkalab.lab.cli import SPARK_CLUSTER_VARIABLE
from kafkalab.lab.stack.lifecycle import Stack
from kafkalab.lab.stack.spark_cluster import MASTER, WORKER, master_state
from kafkalab.settings import LabSettings
from tests.support.dags_test import dags_test, state_mismatches
from tests.support.exercise_params import SMALL
from tests.support.trigger_rules import simulate_run

REPARTITION = "kafka_repartition_scaling"

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def spark_cluster(settings: LabSettings) -> Iterator[LabSettings]:
    with_spark = settings.model_copy(update={"spark_cluster": True})
    stack = Stack(with_spark)
    stack.up()
    try:
        # `airflow dags test` runs the tasks in its own process, from this environment.
        with pytest.MonkeyPatch.context() as environment:
            environment.setenv(SPARK_CLUSTER_VARIABLE, "true")
            yield with_spark
    finally:
        for name in (WORKER, MASTER):
            stack.registry.stop(name)


def test_repartition_runs_on_the_cluster_with_more_cores_when_scaled(
    spark_cluster: LabSettings, api, dagbag
) -> None:
    assert master_state(spark_cluster)["aliveworkers"] == 1

    run = dags_test(api, REPARTITION, SMALL[REPARTITION])
    assert run.result.returncode == 0, run.explained()
    wrong = state_mismatches(run.states, simulate_run(dagbag.get_dag(REPARTITION), "none"))
    assert not wrong, "\n  ".join(["not every check ran and passed:", *wrong])

    # Each phase's facts come from its own Spark event log: the master it ran on and the
    # executor cores the master granted it.
    facts = {
        phase: api.xcom(REPARTITION, run.run_id, f"{phase}.spark_facts")
        for phase in ("baseline", "scaled")
    }
    master = spark_cluster.spark_master
    assert master.startswith("spark://")
    assert {phase: f["master"] for phase, f in facts.items()} == {
        "baseline": master,
        "scaled": master,
    }
    assert facts["baseline"]["cores"] == 1
    assert facts["scaled"]["cores"] == 2
