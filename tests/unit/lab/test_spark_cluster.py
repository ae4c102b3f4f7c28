"""`./lab up --spark-cluster`: the settings, commands and health of the standalone cluster."""

from __future__ import annotations

import json

import pytest

from kafkalab.lab import cli
from kafkalab.lab.stack.environment import connection_uris, lab_environment
from kafkalab.lab.stack.process import ProcessRegistry
from kafkalab.lab.stack.services import services
from kafkalab.lab.stack.spark_cluster import (
    MASTER,
    WORKER,
    cluster_properties,
    master_command,
    registered_worker,
    running_spark_cluster,
    worker_command,
)
from kafkalab.settings import LabSettings
from kafkalab.spark.conf import spark_defaults


def flag_value(command: list[str], flag: str) -> str:
    return command[command.index(flag) + 1]


@pytest.fixture
def cluster_settings(tmp_path) -> LabSettings:
    return LabSettings(home=tmp_path, spark_cluster=True)


def test_the_master_is_local_unless_the_cluster_is_on(tmp_path) -> None:
    assert LabSettings(home=tmp_path).spark_master == "local[*]"
    assert LabSettings(home=tmp_path, spark_cluster=True).spark_master == "spark://127.0.0.1:7077"


def test_compose_names_its_own_master(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKALAB_SPARK_MASTER", "spark://spark-master:7077")
    assert LabSettings().spark_master == "spark://spark-master:7077"


def test_the_cluster_is_switched_on_by_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKALAB_SPARK_CLUSTER", "true")
    assert LabSettings().spark_cluster


def test_jobs_and_airflow_submit_to_the_cluster(cluster_settings: LabSettings) -> None:
    spark = json.loads(connection_uris(cluster_settings)["spark_default"])
    assert spark["host"] == "spark://127.0.0.1:7077"
    assert spark["extra"]["deploy-mode"] == "client"
    defaults = spark_defaults(cluster_settings)
    assert defaults["spark.master"] == "spark://127.0.0.1:7077"
    assert defaults["spark.executor.memory"] == "1g"


def test_the_local_stack_keeps_local_spark(tmp_path) -> None:
    settings = LabSettings(home=tmp_path)
    assert json.loads(connection_uris(settings)["spark_default"])["host"] == "local[*]"
    assert [s.name for s in services(settings) if s.name.startswith("spark")] == []
    env = lab_environment(settings)
    assert env["KAFKALAB_SPARK_CLUSTER"] == "false"
    assert "SPARK_LOCAL_IP" not in env


def test_the_cluster_environment_binds_spark_to_the_lab_host(
    cluster_settings: LabSettings,
) -> None:
    env = lab_environment(cluster_settings)
    assert env["KAFKALAB_SPARK_CLUSTER"] == "true"
    assert env["SPARK_LOCAL_IP"] == "127.0.0.1"


def test_master_and_worker_are_services_the_worker_after_the_master(
    cluster_settings: LabSettings,
) -> None:
    by_name = {s.name: s for s in services(cluster_settings)}
    assert by_name[WORKER].depends_on == [MASTER]
    assert by_name[MASTER].ports == {"master": 7077, "web UI": 8090}
    assert by_name[WORKER].ports == {"worker": 7078, "web UI": 8091}
    # Not Airflow's port.
    assert cluster_settings.airflow_port not in {
        port for s in by_name.values() for port in s.ports.values() if s.name.startswith("spark")
    }


def test_master_command_binds_the_lab_host(cluster_settings: LabSettings) -> None:
    command = master_command(cluster_settings)
    assert command[0].endswith("/venv/bin/spark-class")
    assert command[1] == "org.apache.spark.deploy.master.Master"
    assert flag_value(command, "--host") == "127.0.0.1"
    assert flag_value(command, "--port") == "7077"
    assert flag_value(command, "--webui-port") == "8090"


def test_worker_offers_two_cores_and_joins_the_master(cluster_settings: LabSettings) -> None:
    command = worker_command(cluster_settings)
    assert command[1] == "org.apache.spark.deploy.worker.Worker"
    assert flag_value(command, "--cores") == "2"
    assert flag_value(command, "--memory") == "2g"
    assert flag_value(command, "--port") == "7078"
    assert flag_value(command, "--work-dir") == str(cluster_settings.paths.data / "spark-worker")
    assert command[-1] == "spark://127.0.0.1:7077"


def test_an_application_without_cores_asked_leaves_room_for_another(
    cluster_settings: LabSettings,
) -> None:
    properties = dict(
        line.split(" ", 1) for line in cluster_properties(cluster_settings).splitlines()
    )
    assert properties["spark.deploy.defaultCores"] == "1"
    # The daemons do not read the jobs' spark-defaults.conf with its S3 keys.
    assert not any("s3a" in key for key in properties)


def test_the_worker_counts_only_when_alive_at_its_own_address(
    cluster_settings: LabSettings,
) -> None:
    dead = {"host": "127.0.0.1", "port": 7078, "state": "DEAD", "cores": 2}
    other = {"host": "127.0.0.1", "port": 7999, "state": "ALIVE", "cores": 2}
    ours = {"host": "127.0.0.1", "port": 7078, "state": "ALIVE", "cores": 2}
    assert registered_worker({"workers": [dead, other]}, cluster_settings) is None
    assert registered_worker({"workers": [dead, other, ours]}, cluster_settings) == ours


@pytest.fixture
def no_cluster_variable(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:
    # Set, then removed: the monkeypatch restores the variable that `lab_settings` sets.
    monkeypatch.setenv("KAFKALAB_SPARK_CLUSTER", "")
    monkeypatch.delenv("KAFKALAB_SPARK_CLUSTER")
    monkeypatch.setenv("KAFKALAB_HOME", str(tmp_path))
    return monkeypatch


def test_up_with_the_flag_turns_the_cluster_on(no_cluster_variable: pytest.MonkeyPatch) -> None:
    no_cluster_variable.setattr(cli, "running_spark_cluster", lambda settings: False)
    assert cli.lab_settings(cli.parse_args(["up", "--spark-cluster"])).spark_cluster
    assert cli.os.environ["KAFKALAB_SPARK_CLUSTER"] == "true"


def test_other_commands_adopt_a_running_cluster(no_cluster_variable: pytest.MonkeyPatch) -> None:
    no_cluster_variable.setattr(cli, "running_spark_cluster", lambda settings: True)
    assert cli.lab_settings(cli.parse_args(["status"])).spark_cluster


def test_without_a_running_cluster_spark_stays_local(
    no_cluster_variable: pytest.MonkeyPatch,
) -> None:
    no_cluster_variable.setattr(cli, "running_spark_cluster", lambda settings: False)
    assert not cli.lab_settings(cli.parse_args(["up"])).spark_cluster


def test_a_running_cluster_wins_over_older_exports(no_cluster_variable: pytest.MonkeyPatch) -> None:
    # A shell that ran `eval "$(./lab env)"` before the cluster was started.
    no_cluster_variable.setenv("KAFKALAB_SPARK_CLUSTER", "false")
    no_cluster_variable.setattr(cli, "running_spark_cluster", lambda settings: True)
    assert cli.lab_settings(cli.parse_args(["run", "ingest"])).spark_cluster


def test_up_without_the_cluster_switches_it_off(no_cluster_variable: pytest.MonkeyPatch) -> None:
    no_cluster_variable.setattr(cli, "running_spark_cluster", lambda settings: True)
    assert not cli.lab_settings(cli.parse_args(["up", "--no-spark-cluster"])).spark_cluster


def test_the_variable_decides_when_nothing_runs(no_cluster_variable: pytest.MonkeyPatch) -> None:
    no_cluster_variable.setenv("KAFKALAB_SPARK_CLUSTER", "true")
    no_cluster_variable.setattr(cli, "running_spark_cluster", lambda settings: False)
    assert cli.lab_settings(cli.parse_args(["up"])).spark_cluster


def test_a_recorded_master_means_the_cluster_until_down(tmp_path) -> None:
    settings = LabSettings(home=tmp_path)
    assert not running_spark_cluster(settings)
    registry = ProcessRegistry(settings.paths.run, settings.paths.logs)
    # A master that died keeps its record: the next `./lab up` starts it again.
    registry.start(MASTER, ["true"])
    assert running_spark_cluster(settings)
    registry.stop(MASTER)
    assert not running_spark_cluster(settings)
