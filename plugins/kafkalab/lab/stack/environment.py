"""The environment every lab process runs in: Airflow, Spark and the lab's own tools.

`./lab env` prints it as shell exports, so plain `airflow` and `spark-submit` in a
user's shell behave exactly like `./lab airflow` and `./lab spark-submit`.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
from pathlib import Path

from kafkalab.settings import REPO_ROOT, LabSettings

AIRFLOW_CONNECTION_IDS = {
    "kafka": "kafka_default",
    "spark": "spark_default",
    "object_store": "lab_object_store",
    "ingestor": "lab_ingestor",
}


def airflow_secrets(settings: LabSettings) -> dict[str, str]:
    """Per-installation secrets, generated once and kept out of the repository.

    All Airflow components must share the JWT secret: the scheduler signs the tokens
    that task runners present to the api-server's execution API.
    """
    path = settings.paths.airflow_home / "lab-secrets.json"
    if path.exists():
        return json.loads(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    values = {
        "jwt_secret": secrets.token_urlsafe(32),
        "api_secret_key": secrets.token_urlsafe(32),
        "admin_password": secrets.token_urlsafe(12),
    }
    path.write_text(json.dumps(values))
    path.chmod(0o600)
    return values


def airflow_passwords_file(settings: LabSettings) -> Path:
    path = settings.paths.airflow_home / "simple_auth_manager_passwords.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        password = airflow_secrets(settings)["admin_password"]
        path.write_text(json.dumps({settings.airflow_user: password}))
        path.chmod(0o600)
    return path


def airflow_admin_password(settings: LabSettings) -> str:
    return json.loads(airflow_passwords_file(settings).read_text())[settings.airflow_user]


def connection_uris(settings: LabSettings) -> dict[str, str]:
    """Airflow connections as JSON, the form `AIRFLOW_CONN_*` variables accept."""
    kafka = {
        "conn_type": "kafka",
        # The Kafka provider passes the extras straight to confluent-kafka.
        "extra": {"bootstrap.servers": settings.kafka_bootstrap, "group.id": "kafkalab-airflow"},
    }
    spark = {
        "conn_type": "spark",
        "host": settings.spark_master,
        "extra": {"deploy-mode": "client", "spark-binary": "spark-submit"},
    }
    object_store = {
        "conn_type": "aws",
        "login": settings.s3_access_key,
        "password": settings.s3_secret_key,
        "extra": {"endpoint_url": settings.s3_endpoint, "region_name": settings.s3_region},
    }
    ingestor = {"conn_type": "http", "host": settings.ingestor_url}
    return {
        AIRFLOW_CONNECTION_IDS["ingestor"]: json.dumps(ingestor),
        AIRFLOW_CONNECTION_IDS["kafka"]: json.dumps(kafka),
        AIRFLOW_CONNECTION_IDS["spark"]: json.dumps(spark),
        AIRFLOW_CONNECTION_IDS["object_store"]: json.dumps(object_store),
    }


PAUSED_AT_CREATION = "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION"


def airflow_environment(settings: LabSettings) -> dict[str, str]:
    home = settings.paths.airflow_home
    lab_secrets = airflow_secrets(settings)
    env = {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        # The default parallelism pre-forks 32 LocalExecutor workers: too many for 2 cores.
        "AIRFLOW__CORE__PARALLELISM": str(settings.airflow_parallelism),
        # A user's stack schedules the nightly DR drill at once (its first run is the
        # next 02:00, never the one already past); the tests' stack keeps DAGs paused.
        PAUSED_AT_CREATION: str(settings.pause_dags_at_creation),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{settings.airflow_user}:admin",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(airflow_passwords_file(settings)),
        "AIRFLOW__API_AUTH__JWT_SECRET": lab_secrets["jwt_secret"],
        "AIRFLOW__API__SECRET_KEY": lab_secrets["api_secret_key"],
        "AIRFLOW__API__HOST": settings.host,
        "AIRFLOW__API__PORT": str(settings.airflow_port),
        "AIRFLOW__API__BASE_URL": settings.airflow_url,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{settings.airflow_url}/execution/",
        # New DAG files show up within seconds instead of the default five minutes.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "15",
    }
    for conn_id, uri in connection_uris(settings).items():
        env[f"AIRFLOW_CONN_{conn_id.upper()}"] = uri
    return env


def lab_environment(settings: LabSettings) -> dict[str, str]:
    """Variables that differ from the caller's environment (for exports and children)."""
    venv_bin = settings.paths.venv / "bin"
    path = os.environ.get("PATH", "")
    if str(venv_bin) not in path.split(os.pathsep):
        path = os.pathsep.join([str(venv_bin), path])
    env = {
        "KAFKALAB_HOME": str(settings.home),
        # The topology `./lab up` chose: every process the lab starts (the ingestor,
        # Airflow's task runners, Spark drivers) bootstraps from all of its brokers.
        "KAFKALAB_BROKERS": str(settings.kafka_brokers),
        "VIRTUAL_ENV": str(settings.paths.venv),
        "PATH": path,
        "PYTHONWARNINGS": _python_warnings(),
        "SPARK_CONF_DIR": str(settings.paths.spark_conf),
        # Spark's launcher must run the driver with the lab's interpreter.
        "PYSPARK_PYTHON": str(venv_bin / "python"),
        "PYSPARK_DRIVER_PYTHON": str(venv_bin / "python"),
        # Airflow's task processes and `./lab env` shells see the cluster `./lab up` chose.
        "KAFKALAB_SPARK_CLUSTER": str(settings.spark_cluster).lower(),
    }
    if settings.spark_cluster:
        # The master's and worker's UIs and every driver bind here, not on all interfaces;
        # the executors reach their driver at this address.
        env["SPARK_LOCAL_IP"] = settings.host
    env.update(airflow_environment(settings))
    return env


# Airflow's `dags` commands import a graph renderer that warns, on stdout, when the
# optional graphviz package is missing, ahead of `-o json` output. The lab draws no
# graphs with it (the UI draws its own).
QUIET_WARNINGS = ("ignore:Could not import graphviz:UserWarning",)


def _python_warnings() -> str:
    filters = [f for f in os.environ.get("PYTHONWARNINGS", "").split(",") if f]
    return ",".join([*filters, *(f for f in QUIET_WARNINGS if f not in filters)])


def child_environment(settings: LabSettings) -> dict[str, str]:
    return {**os.environ, **lab_environment(settings)}


def shell_exports(settings: LabSettings) -> str:
    return "\n".join(
        f"export {name}={shlex.quote(value)}" for name, value in lab_environment(settings).items()
    )
