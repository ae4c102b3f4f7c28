"""`./lab airflow dags test <dag_id>` knows which DAG to pause while it runs."""

from __future__ import annotations

import pytest

from kafkalab.lab.cli import dags_test_target


@pytest.mark.parametrize(
    ("argv", "dag_id"),
    [
        (["dags", "test", "kafka_ingest_basic"], "kafka_ingest_basic"),
        (["dags", "test", "kafka_ingest_basic", "-c", '{"events": 500}'], "kafka_ingest_basic"),
        (["dags", "test", "-c", "{}", "kafka_dr_replay_drill"], "kafka_dr_replay_drill"),
        (["dags", "test", "--conf", "{}", "-v", "x", "2026-11-27"], "x"),
        (
            ["dags", "test", "-B", "dags-folder", "kafka_fanout_consumer_groups"],
            "kafka_fanout_consumer_groups",
        ),
        (["dags", "list"], None),
        (["tasks", "test", "kafka_ingest_basic", "verify"], None),
        (["dags", "test"], None),
        ([], None),
    ],
)
def test_the_dag_of_a_dags_test_command_line(argv: list[str], dag_id: str | None) -> None:
    assert dags_test_target(argv) == dag_id
