"""The local stack's services: what each runs, which ports it owns, how it is judged healthy."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from string import Template

import httpx
import psutil

from kafkalab.lab.stack import kafka
from kafkalab.lab.stack.environment import child_environment
from kafkalab.lab.stack.process import ProcessRegistry, tail
from kafkalab.settings import REPO_ROOT, LabSettings

SEAWEED_S3_TEMPLATE = REPO_ROOT / "config" / "seaweedfs" / "s3.json.template"


class ServiceError(RuntimeError):
    pass


@dataclass
class Health:
    healthy: bool
    detail: str


@dataclass
class Service:
    name: str
    description: str
    ports: dict[str, int]
    command: Callable[[LabSettings], list[str]]
    health: Callable[[LabSettings], Health]
    prepare: Callable[[LabSettings], None] = lambda settings: None
    # The configuration file the service reads, when it has one: part of what a running
    # service was started with, so that `./lab up` restarts it when the file changes.
    config_file: Callable[[LabSettings], str] | None = None
    start_timeout: float = 120.0
    depends_on: list[str] = field(default_factory=list)


def port_owner(host: str, port: int) -> str | None:
    """Who listens on host:port, or None when the port is free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            return None
        except OSError:
            pass  # taken: find out by whom
    try:
        for conn in psutil.net_connections(kind="tcp"):
            listening = conn.status == psutil.CONN_LISTEN
            if listening and conn.laddr and conn.laddr.port == port and conn.pid:
                proc = psutil.Process(conn.pid)
                return f"pid {conn.pid} ({' '.join(proc.cmdline()[:3])})"
    except (psutil.AccessDenied, psutil.NoSuchProcess):
        pass
    return "another process"


# --- Kafka ---------------------------------------------------------------------------


def _prepare_kafka_node(node: kafka.KafkaNode) -> Callable[[LabSettings], None]:
    def prepare(settings: LabSettings) -> None:
        kafka.render_server_properties(settings, node)
        if kafka.is_storage_formatted(node):
            return
        node.data_dir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            kafka.format_storage_command(settings, node),
            capture_output=True,
            text=True,
            env=child_environment(settings),
        )
        if result.returncode != 0:
            raise ServiceError(
                f"formatting the KRaft storage of Kafka node {node.node_id} failed:\n"
                f"{result.stdout}{result.stderr}"
            )

    return prepare


def _kafka_node_health(node: kafka.KafkaNode) -> Callable[[LabSettings], Health]:
    def check(settings: LabSettings) -> Health:
        from confluent_kafka.admin import AdminClient

        from kafkalab.kafka.client import admin_config

        address = f"{settings.host}:{node.broker_port}"
        # Asked at this node's own listener, so that a node that is down is never
        # reported healthy by another. Quiet: while the broker starts, librdkafka
        # would log every refused connection.
        config = {**admin_config(settings, log_level=0), "bootstrap.servers": address}
        try:
            metadata = AdminClient(config).list_topics(timeout=3)
        except Exception as exc:  # KafkaException: broker not reachable yet
            return Health(False, f"no metadata from {address}: {exc}")
        # Registered with the controller quorum: a broker that answers but is still
        # fenced is not in the cluster's metadata yet.
        if node.node_id not in metadata.brokers:
            return Health(False, f"node {node.node_id} is not registered with the controllers yet")
        user_topics = [t for t in metadata.topics if not t.startswith("__")]
        brokers = len(metadata.brokers)
        return Health(
            True,
            f"node {node.node_id}: {brokers} broker{'s' if brokers > 1 else ''} "
            f"in the cluster, {len(user_topics)} topics",
        )

    return check


def kafka_services(settings: LabSettings) -> list[Service]:
    cluster = settings.kafka_brokers > 1
    return [
        Service(
            name=node.service_name,
            description=(
                f"Apache Kafka node {node.node_id} of {settings.kafka_brokers} (KRaft)"
                if cluster
                else "Apache Kafka broker (KRaft)"
            ),
            ports={
                "broker": node.broker_port,
                "lab guide listener": node.guide_port,
                "controller": node.controller_port,
            },
            command=lambda settings, node=node: kafka.broker_command(settings, node),
            health=_kafka_node_health(node),
            prepare=_prepare_kafka_node(node),
            config_file=lambda settings, node=node: kafka.server_properties(settings, node),
        )
        for node in kafka.kafka_nodes(settings)
    ]


# --- S3 object store (SeaweedFS) ------------------------------------------------------


def _prepare_s3(settings: LabSettings) -> None:
    config = settings.paths.conf / "seaweedfs" / "s3.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(
        Template(SEAWEED_S3_TEMPLATE.read_text()).substitute(
            access_key=settings.s3_access_key, secret_key=settings.s3_secret_key
        )
    )
    config.chmod(0o600)
    settings.paths.s3_data.mkdir(parents=True, exist_ok=True)


def _s3_command(settings: LabSettings) -> list[str]:
    return [
        str(settings.paths.venv / "bin" / "weed"),
        "mini",
        f"-dir={settings.paths.s3_data}",
        f"-ip={settings.host}",
        f"-ip.bind={settings.host}",
        f"-s3.port={settings.s3_port}",
        f"-s3.config={settings.paths.conf / 'seaweedfs' / 's3.json'}",
        f"-master.port={settings.seaweed_master_port}",
        f"-volume.port={settings.seaweed_volume_port}",
        f"-filer.port={settings.seaweed_filer_port}",
        f"-admin.port={settings.seaweed_admin_port}",
        f"-bucket={settings.raw_bucket},{settings.reports_bucket}",
        # Only S3 is part of the lab; the other front ends would open more ports.
        "-webdav=false",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
    ]


def _s3_health(settings: LabSettings) -> Health:
    from kafkalab.lake.object_store import object_store_client

    try:
        buckets = sorted(b.name for b in object_store_client(settings).list_buckets())
    except Exception as exc:
        return Health(False, f"S3 API at {settings.s3_endpoint} not answering: {exc}")
    return Health(True, f"buckets: {', '.join(buckets) or '(none)'}")


# --- Airflow ----------------------------------------------------------------------------


def _airflow(settings: LabSettings) -> str:
    return str(settings.paths.venv / "bin" / "airflow")


def airflow_health_report(settings: LabSettings) -> dict:
    response = httpx.get(f"{settings.airflow_url}/api/v2/monitor/health", timeout=5)
    response.raise_for_status()
    return response.json()


def _airflow_component_health(component: str) -> Callable[[LabSettings], Health]:
    def check(settings: LabSettings) -> Health:
        try:
            report = airflow_health_report(settings)
        except Exception as exc:
            return Health(False, f"api-server not answering: {exc}")
        status = (report.get(component) or {}).get("status")
        if component == "api_server":
            db = report.get("metadatabase", {}).get("status")
            return Health(db == "healthy", f"metadatabase {db}")
        heartbeat = (report.get(component) or {}).get(
            "latest_scheduler_heartbeat"
            if component == "scheduler"
            else "latest_triggerer_heartbeat"
            if component == "triggerer"
            else "latest_dag_processor_heartbeat"
        )
        return Health(status == "healthy", f"{status}, last heartbeat {heartbeat}")

    return check


def _prepare_airflow(settings: LabSettings) -> None:
    stamp = settings.paths.airflow_home / ".db-migrated"
    if stamp.exists():
        return
    settings.paths.airflow_home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [_airflow(settings), "db", "migrate"],
        capture_output=True,
        text=True,
        env=child_environment(settings),
    )
    if result.returncode != 0:
        tail_text = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise ServiceError(f"`airflow db migrate` failed:\n{tail_text}")
    stamp.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))


def _airflow_service(name: str, args: list[str], component: str, ports: dict[str, int]) -> Service:
    return Service(
        name=name,
        description=f"Airflow {' '.join(args)}",
        ports=ports,
        command=lambda settings: [_airflow(settings), *args],
        health=_airflow_component_health(component),
        prepare=_prepare_airflow,
        depends_on=["airflow-api-server"] if name != "airflow-api-server" else [],
    )


# --- Ingestor ---------------------------------------------------------------------------


def _ingestor_command(settings: LabSettings) -> list[str]:
    return [
        str(settings.paths.venv / "bin" / "uvicorn"),
        "kafkalab.ingestor.app:app",
        "--app-dir",
        str(REPO_ROOT),
        "--host",
        settings.host,
        "--port",
        str(settings.ingestor_port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]


def _ingestor_health(settings: LabSettings) -> Health:
    try:
        response = httpx.get(f"{settings.ingestor_url}/health", timeout=5)
    except httpx.HTTPError as exc:
        return Health(False, f"not answering at {settings.ingestor_url}: {exc}")
    return Health(response.status_code == 200, response.json().get("kafka", response.text))


def services(settings: LabSettings) -> list[Service]:
    """Every service of the local stack, in start order."""
    # Imported here: the cluster's module builds its services from this one's classes.
    from kafkalab.lab.stack.spark_cluster import cluster_services

    return [
        *kafka_services(settings),
        Service(
            name="s3",
            description="S3 object store (SeaweedFS)",
            ports={
                "s3": settings.s3_port,
                "master": settings.seaweed_master_port,
                "volume": settings.seaweed_volume_port,
                "filer": settings.seaweed_filer_port,
            },
            command=_s3_command,
            health=_s3_health,
            prepare=_prepare_s3,
        ),
        Service(
            name="ingestor",
            description="FastAPI ingestor",
            ports={"http": settings.ingestor_port},
            command=_ingestor_command,
            health=_ingestor_health,
        ),
        _airflow_service(
            "airflow-api-server",
            [
                "api-server",
                "--host",
                settings.host,
                "--port",
                str(settings.airflow_port),
                "--workers",
                "1",
            ],
            "api_server",
            {"http": settings.airflow_port},
        ),
        # Task logs are files under AIRFLOW_HOME that the api-server reads directly; the
        # log-serving sub-processes would only add listeners on 0.0.0.0.
        _airflow_service("airflow-scheduler", ["scheduler", "--skip-serve-logs"], "scheduler", {}),
        _airflow_service("airflow-dag-processor", ["dag-processor"], "dag_processor", {}),
        _airflow_service("airflow-triggerer", ["triggerer", "--skip-serve-logs"], "triggerer", {}),
        # Last: Airflow's api-server warms up while the master starts, not after it.
        *cluster_services(settings),
    ]


def describe_failure(registry: ProcessRegistry, service: Service, reason: str) -> str:
    log_path = registry.log_path(service.name)
    return (
        f"{service.name} ({service.description}) did not come up: {reason}\n"
        f"last lines of {log_path}:\n{tail(log_path)}"
    )


def health_json(report: dict[str, Health]) -> str:
    return json.dumps({name: h.__dict__ for name, h in report.items()}, indent=2)
