"""A user's stack schedules the nightly drill; a stack under test keeps new DAGs paused."""

from __future__ import annotations

import subprocess

from kafkalab.lab import cli
from kafkalab.lab.stack.environment import PAUSED_AT_CREATION, airflow_environment
from kafkalab.lab.stack.lifecycle import Stack
from kafkalab.settings import LabSettings


def test_a_users_stack_creates_dags_unpaused(tmp_path, monkeypatch) -> None:
    # `./lab test` sets the variable for everything it runs, this test included.
    monkeypatch.delenv(cli.PAUSE_DAGS_VARIABLE, raising=False)
    assert airflow_environment(LabSettings(home=tmp_path))[PAUSED_AT_CREATION] == "False"


def test_lab_test_brings_the_stack_up_with_new_dags_paused(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KAFKALAB_HOME", str(tmp_path))
    monkeypatch.setenv(cli.PAUSE_DAGS_VARIABLE, "false")
    seen: dict = {}
    monkeypatch.setattr(cli, "_ensure_up", lambda settings: seen.setdefault("up", settings))

    def run(command, **kwargs):
        seen.setdefault("env", kwargs["env"])  # ruff's, then pytest's: the same
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(cli.subprocess, "run", run)
    assert cli.main(["test", "-k", "nothing"]) == 0
    assert seen["up"].pause_dags_at_creation is True
    assert seen["env"][PAUSED_AT_CREATION] == "True"
    # The tests' own `./lab` calls (and what they start) inherit it.
    assert seen["env"][cli.PAUSE_DAGS_VARIABLE] == "true"


def test_the_setting_alone_does_not_restart_a_running_airflow(tmp_path) -> None:
    users = Stack(LabSettings(home=tmp_path))
    tests = Stack(LabSettings(home=tmp_path, pause_dags_at_creation=True))
    for name in ("airflow-scheduler", "airflow-dag-processor"):
        assert users.config_digest(users.service(name)) == tests.config_digest(tests.service(name))
