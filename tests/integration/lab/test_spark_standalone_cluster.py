"""The standalone Spark cluster: it runs a job's executors and leaves no JVM behind.

The master and worker run from the lab's own pyspark and jars, but under a state
directory and on ports of their own: the test neither sees nor stops the stack's.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from kafkalab.lab.stack.environment import child_environment
from kafkalab.lab.stack.lifecycle import Stack
from kafkalab.lab.stack.spark_cluster import (
    EXECUTOR_CLASS,
    MASTER,
    MASTER_CLASS,
    WORKER,
    WORKER_CLASS,
    master_state,
)
from kafkalab.settings import LabSettings
from kafkalab.spark.conf import render_spark_defaults
from kafkalab.spark.jobs import StreamingJobs

SPARK_CLASSES = (MASTER_CLASS, WORKER_CLASS, EXECUTOR_CLASS)
# A driver that keeps its executor busy: one small job after the other, each logged.
PROBE = """
import time
from pyspark.sql import SparkSession

spark = SparkSession.builder.appName("cluster-probe").getOrCreate()
total = spark.range(0, 100000, numPartitions=4).selectExpr("sum(id)").first()[0]
print("probe ran on", spark.sparkContext.master, "sum", total, flush=True)
while True:
    spark.range(0, 1000, numPartitions=2).count()
    print("job done", flush=True)
    time.sleep(0.2)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def spark_processes(home: Path) -> dict[str, list[int]]:
    """Master, worker and executor JVMs started under ``home`` (their classpath names it)."""
    found: dict[str, list[int]] = {}
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(home) not in cmdline:
            continue
        for spark_class in SPARK_CLASSES:
            if spark_class in cmdline:
                found.setdefault(spark_class, []).append(proc.info["pid"])
    return found


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout:.0f}s")
        time.sleep(0.5)


@pytest.fixture
def cluster(settings: LabSettings, tmp_path: Path) -> Iterator[Stack]:
    home = tmp_path / "lab"
    home.mkdir()
    # The stack's installed venv and connector jars, without its registry or data.
    (home / "venv").symlink_to(settings.paths.venv)
    (home / "jars").symlink_to(settings.paths.jars)
    own = LabSettings(
        home=home,
        spark_cluster=True,
        spark_master_port=free_port(),
        spark_master_ui_port=free_port(),
        spark_worker_port=free_port(),
        spark_worker_ui_port=free_port(),
    )
    render_spark_defaults(own)
    stack = Stack(own)
    try:
        for name in (MASTER, WORKER):
            stack.start(stack.service(name))
            stack.wait_healthy(stack.service(name))
        yield stack
    finally:
        for name in stack.registry.names():
            stack.registry.stop(name)


def start_probe(stack: Stack, name: str, tmp_path: Path) -> None:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    spark_submit = str(stack.settings.paths.venv / "bin" / "spark-submit")
    stack.registry.start(
        name, [spark_submit, str(script)], env=child_environment(stack.settings), cwd=tmp_path
    )
    wait_for(
        lambda: "probe ran on spark://" in Path(stack.registry.log_path(name)).read_text(),
        # Two JVMs start (the driver's, then the executor's) on a machine that may be
        # running the whole stack besides.
        240,
        f"the probe job did not run on the cluster:\n{stack.registry.log_path(name)}",
    )


def jobs_done(stack: Stack, name: str) -> int:
    return Path(stack.registry.log_path(name)).read_text().count("job done")


def test_a_job_runs_its_executor_on_the_worker_paused_resumed_and_stopped(
    cluster: Stack, tmp_path: Path
) -> None:
    settings = cluster.settings
    state = master_state(settings)
    assert state["aliveworkers"] == 1
    assert state["cores"] == settings.spark_worker_cores

    start_probe(cluster, "spark-probe", tmp_path)
    apps = master_state(settings)["activeapps"]
    assert [app["name"] for app in apps] == ["cluster-probe"]
    # An application that asks for nothing gets one core (spark.deploy.defaultCores).
    assert apps[0]["cores"] == 1
    assert len(spark_processes(settings.home).get(EXECUTOR_CLASS, [])) == 1

    # Paused, the driver schedules nothing: its executor stays, idle, until it resumes.
    jobs = StreamingJobs(settings)
    assert jobs.pause_job("spark-probe").state == "paused"
    paused_at = jobs_done(cluster, "spark-probe")
    time.sleep(5)
    assert jobs_done(cluster, "spark-probe") == paused_at
    assert len(spark_processes(settings.home).get(EXECUTOR_CLASS, [])) == 1
    assert jobs.resume_job("spark-probe").state == "running"
    wait_for(
        lambda: jobs_done(cluster, "spark-probe") > paused_at,
        30,
        "the resumed driver ran no job on its executor",
    )

    # The driver stopped, its application ends and the worker kills its executor.
    cluster.registry.stop("spark-probe")
    wait_for(
        lambda: EXECUTOR_CLASS not in spark_processes(settings.home),
        30,
        "the executor of a stopped driver was still running",
    )
    assert not master_state(settings)["activeapps"]


def test_stopping_master_and_worker_leaves_no_spark_process(cluster: Stack, tmp_path: Path) -> None:
    home = cluster.settings.home
    start_probe(cluster, "spark-probe", tmp_path)
    assert set(spark_processes(home)) == set(SPARK_CLASSES)

    # In `./lab down`'s order: the worker (with the executors it started), the master.
    for name in (WORKER, MASTER):
        assert cluster.registry.stop(name)
    assert spark_processes(home) == {}
