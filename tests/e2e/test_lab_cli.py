"""`./lab` as the README tells users to run it."""

from __future__ import annotations

import os
import subprocess
import time

import psutil
import pytest

from tests.support.lab import REPO_ROOT, lab


def test_status_is_healthy_and_exits_zero() -> None:
    result = lab("status")
    assert result.returncode == 0, result.stdout + result.stderr
    for service in ("kafka", "s3", "airflow-api-server", "airflow-scheduler"):
        assert service in result.stdout


def test_lag_lists_groups_with_the_figures_of_kafka_consumer_groups(settings, unique_name) -> None:
    from kafkalab.kafka.consumer_groups import run_consumer_group

    run_consumer_group(
        {"bootstrap.servers": settings.kafka_bootstrap}, unique_name, "raw_insurance_claims"
    )
    result = lab("lag", "--group", unique_name)
    assert result.returncode == 0, result.stderr
    assert unique_name in result.stdout and "raw_insurance_claims" in result.stdout
    assert "total" in result.stdout


def test_an_unknown_kafka_tool_is_an_error_naming_the_known_tools() -> None:
    result = lab("kafka", "kafka-topicz", "--list")
    assert result.returncode != 0
    assert "kafka-consumer-groups" in result.stderr


def test_env_exports_make_plain_airflow_use_the_lab() -> None:
    exports = lab("env").stdout
    result = subprocess.run(
        ["bash", "-c", f"{exports}\nairflow config get-value core executor"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "LocalExecutor", result.stderr


# A second, private stack on other ports: up, idempotent up, down, with nothing left.
SECOND_STACK_PORTS = {
    "KAFKALAB_KAFKA_BROKER_PORT": "39092",
    "KAFKALAB_KAFKA_GUIDE_PORT": "39094",
    "KAFKALAB_KAFKA_CONTROLLER_PORT": "39093",
    "KAFKALAB_S3_PORT": "29000",
    "KAFKALAB_SEAWEED_MASTER_PORT": "29333",
    "KAFKALAB_SEAWEED_VOLUME_PORT": "29340",
    "KAFKALAB_SEAWEED_FILER_PORT": "28888",
    "KAFKALAB_SEAWEED_ADMIN_PORT": "24646",
    "KAFKALAB_AIRFLOW_PORT": "28080",
    "KAFKALAB_INGESTOR_PORT": "28000",
}


@pytest.fixture
def second_stack_env(tmp_path, settings):
    home = tmp_path / "lab-home"
    home.mkdir()
    # Reuse the installed virtualenv and jars: this test is about the lifecycle.
    (home / "venv").symlink_to(settings.paths.venv)
    (home / "jars").symlink_to(settings.paths.jars)
    env = {**os.environ, **SECOND_STACK_PORTS, "KAFKALAB_HOME": str(home)}
    yield env, home
    subprocess.run([str(REPO_ROOT / "lab"), "down"], env=env, capture_output=True, timeout=300)


def _processes_under(home) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(home) in cmdline or f"AIRFLOW_HOME={home}" in cmdline:
            found.append(f"{proc.pid}: {cmdline[:120]}")
    return found


def test_up_is_idempotent_and_down_leaves_nothing_running(second_stack_env) -> None:
    env, home = second_stack_env

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(REPO_ROOT / "lab"), *args], env=env, capture_output=True, text=True, timeout=600
        )

    first = run("up")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "created with 3 partitions" in first.stderr

    second = run("up")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "started" not in second.stderr and "created" not in second.stderr
    assert "exists with 3 partitions" in second.stderr

    down = run("down")
    assert down.returncode == 0
    assert run("status").returncode != 0
    deadline = time.monotonic() + 30
    while _processes_under(home) and time.monotonic() < deadline:
        time.sleep(1)
    assert _processes_under(home) == []
