"""A Spark standalone master and one worker, from pyspark's own jars (`./lab up --spark-cluster`).

Jobs keep the client deploy mode: the driver (spark-submit's JVM and its Python
process) runs where it was launched, recorded and paused as in local mode
(``kafkalab.spark.jobs``); only the executors run on the worker, which starts them as
its own child processes. Stopping a driver ends its application, and the master has
the worker kill that application's executors; stopping the worker stops every
executor with it.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from kafkalab.lab.stack.process import ProcessRegistry
from kafkalab.lab.stack.services import Health, Service
from kafkalab.settings import LabSettings

MASTER = "spark-master"
WORKER = "spark-worker"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
EXECUTOR_CLASS = "org.apache.spark.executor.CoarseGrainedExecutorBackend"


def running_spark_cluster(settings: LabSettings) -> bool:
    """Whether the stack under ``settings.home`` was started with the standalone cluster:
    a command that was not told otherwise keeps it instead of restarting the stack
    without it.

    Read from the master's record, which only `./lab down` removes: a master that died
    is started again by the next `./lab up` rather than silently replaced by local mode.
    """
    registry = ProcessRegistry(settings.paths.run, settings.paths.logs)
    return registry.get(MASTER) is not None


def cluster_properties_path(settings: LabSettings) -> Path:
    return settings.paths.conf / "spark-cluster" / "spark-standalone.conf"


def cluster_properties(settings: LabSettings) -> str:
    """What the master and worker read instead of the jobs' spark-defaults.conf (given
    with --properties-file, which replaces it): no S3 keys in the daemons' settings."""
    properties = {
        # An application that asks for no cores would otherwise take every core of the
        # worker, and a second one (the replay job next to a paused consumer) would
        # wait for ever. The scaling exercise asks for its cores (spark.cores.max).
        "spark.deploy.defaultCores": "1",
        # Jobs are submitted in client mode; the REST server for cluster-mode submissions
        # would only be one more listener.
        "spark.master.rest.enabled": "false",
        # Each application leaves a folder of executor logs in the work dir.
        "spark.worker.cleanup.enabled": "true",
        "spark.worker.cleanup.appDataTtl": str(24 * 3600),
    }
    return "".join(f"{key} {value}\n" for key, value in properties.items())


def _prepare(settings: LabSettings) -> None:
    path = cluster_properties_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cluster_properties(settings))
    worker_dir(settings).mkdir(parents=True, exist_ok=True)


def worker_dir(settings: LabSettings) -> Path:
    return settings.paths.data / "spark-worker"


def _spark_class(settings: LabSettings) -> str:
    # pyspark's launcher script execs the JVM: the recorded pid is the daemon itself.
    return str(settings.paths.venv / "bin" / "spark-class")


def master_command(settings: LabSettings) -> list[str]:
    return [
        _spark_class(settings),
        MASTER_CLASS,
        "--host",
        settings.host,
        "--port",
        str(settings.spark_master_port),
        "--webui-port",
        str(settings.spark_master_ui_port),
        "--properties-file",
        str(cluster_properties_path(settings)),
    ]


def worker_command(settings: LabSettings) -> list[str]:
    return [
        _spark_class(settings),
        WORKER_CLASS,
        "--host",
        settings.host,
        # A fixed port (Spark picks a random one by default) so that `./lab up` can
        # check it is free like every other service's.
        "--port",
        str(settings.spark_worker_port),
        "--webui-port",
        str(settings.spark_worker_ui_port),
        # Explicit: Spark would offer what the machine reports, and the scaling exercise
        # needs 2 cores even where the machine has fewer.
        "--cores",
        str(settings.spark_worker_cores),
        "--memory",
        settings.spark_worker_memory,
        "--work-dir",
        str(worker_dir(settings)),
        "--properties-file",
        str(cluster_properties_path(settings)),
        master_url(settings),
    ]


def master_url(settings: LabSettings) -> str:
    return f"spark://{settings.host}:{settings.spark_master_port}"


def master_ui_url(settings: LabSettings) -> str:
    return f"http://{settings.host}:{settings.spark_master_ui_port}"


def master_state(settings: LabSettings) -> dict:
    """The master's own report: its status, workers, running applications."""
    response = httpx.get(f"{master_ui_url(settings)}/json/", timeout=5)
    response.raise_for_status()
    return response.json()


def master_health(settings: LabSettings) -> Health:
    try:
        state = master_state(settings)
    except (httpx.HTTPError, ValueError) as exc:
        return Health(False, f"master UI at {master_ui_url(settings)} not answering: {exc}")
    status = state.get("status")
    return Health(
        status == "ALIVE",
        f"{status}, {state.get('aliveworkers', 0)} worker(s), "
        f"{len(state.get('activeapps') or [])} application(s); UI {master_ui_url(settings)}",
    )


def registered_worker(state: dict, settings: LabSettings) -> dict | None:
    """The lab's worker as the master lists it (an earlier, dead one may be listed too)."""
    for worker in state.get("workers") or []:
        same = worker.get("host") == settings.host and worker.get("port") == (
            settings.spark_worker_port
        )
        if same and worker.get("state") == "ALIVE":
            return worker
    return None


def worker_health(settings: LabSettings) -> Health:
    try:
        state = master_state(settings)
    except (httpx.HTTPError, ValueError) as exc:
        return Health(False, f"master UI at {master_ui_url(settings)} not answering: {exc}")
    worker = registered_worker(state, settings)
    if worker is None:
        return Health(False, f"not registered ALIVE with the master at {master_url(settings)}")
    cores = worker.get("cores", 0)
    detail = (
        f"ALIVE with {cores} cores ({worker.get('coresused', 0)} used), "
        f"{worker.get('memory', 0)} MiB ({worker.get('memoryused', 0)} used)"
    )
    # A worker offering fewer cores than asked cannot run the scaled phase in parallel.
    return Health(cores >= settings.spark_worker_cores, detail)


def cluster_services(settings: LabSettings) -> list[Service]:
    """The master and its worker when the settings ask for the cluster; none otherwise."""
    if not settings.spark_cluster:
        return []
    return [
        Service(
            name=MASTER,
            description="Spark standalone master",
            ports={"master": settings.spark_master_port, "web UI": settings.spark_master_ui_port},
            command=master_command,
            health=master_health,
            prepare=_prepare,
            config_file=cluster_properties,
        ),
        Service(
            name=WORKER,
            description="Spark standalone worker",
            ports={"worker": settings.spark_worker_port, "web UI": settings.spark_worker_ui_port},
            command=worker_command,
            health=worker_health,
            prepare=_prepare,
            config_file=cluster_properties,
            depends_on=[MASTER],
        ),
    ]
