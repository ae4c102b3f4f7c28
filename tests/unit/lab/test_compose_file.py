"""docker-compose.yml checked offline: it must agree with the files and code local mode uses.

Compose mode cannot be started where there is no container engine, so these tests read
the compose file as data and compare it with config/topics.yaml, kafkalab.settings, the
Airflow connection ids, the Prometheus and Grafana files and the Dockerfile.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from kafkalab.domain.topics import TOPICS_FILE, load_topic_specs
from kafkalab.lab.stack import compose_init
from kafkalab.lab.stack.environment import AIRFLOW_CONNECTION_IDS, connection_uris
from kafkalab.lab.stack.kafka import kafka_nodes, server_properties
from kafkalab.settings import REPO_ROOT, LabSettings

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
PROMETHEUS_FILE = REPO_ROOT / "config" / "prometheus" / "prometheus.yml"
GRAFANA_DATASOURCES = REPO_ROOT / "config" / "grafana" / "provisioning" / "datasources"
GRAFANA_PROVIDERS = REPO_ROOT / "config" / "grafana" / "provisioning" / "dashboards"
LAG_DASHBOARD = REPO_ROOT / "config" / "grafana" / "dashboards" / "kafka-consumer-lag.json"
SCALING_DAG = REPO_ROOT / "dags" / "kafka_repartition_scaling.py"

LAB_SERVICES = {
    "kafka",
    "kafka-2",
    "kafka-3",
    "kafka-init",
    "objectstore",
    "spark-master",
    "spark-worker",
    "postgres",
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "fastapi_ingestor",
    "prometheus",
    "kafka-exporter",
    "grafana",
}
AIRFLOW_SERVICES = [
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
]
# Compose mode always runs local mode's three-broker cluster (`./lab up --brokers 3`).
COMPOSE_BROKERS = 3
# Service -> the LabSettings field holding the port local mode serves it on. The Kafka
# nodes' ports are checked against kafka_nodes() of a three-broker LabSettings.
LOCAL_MODE_PORTS = {
    "objectstore": "s3_port",
    "airflow-apiserver": "airflow_port",
    "fastapi_ingestor": "ingestor_port",
}
LAG_DASHBOARD_METRICS = {
    "kafka_consumergroup_lag",
    "kafka_topic_partition_current_offset",
    "kafka_topic_partitions",
}

_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str) -> str:
    """Compose's substitution with no environment and no .env: ``${VAR:-default}`` gives
    the default, ``$$`` a literal dollar; a required variable is an error."""

    def substitute(match: re.Match[str]) -> str:
        op = match.group("op") or ""
        if op.endswith("-"):
            return match.group("arg")
        if op.endswith("?"):
            raise ValueError(f"{match.group(0)} has no default: `docker compose up` needs .env")
        return ""

    escaped = value.replace("$$", "\0")
    return _VARIABLE.sub(substitute, escaped).replace("\0", "$")


def environment(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: interpolate(str(value)) for key, value in raw.items()}


def command_args(service: dict[str, Any], key: str = "command") -> list[str]:
    raw = service.get(key) or []
    return shlex.split(raw) if isinstance(raw, str) else [str(arg) for arg in raw]


def published_ports(service: dict[str, Any]) -> list[tuple[int, int]]:
    """(host port, container port) for every published port."""
    ports = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            ports.append((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) == 1:
            continue  # container port only: Docker picks a random host port
        ports.append((int(parts[-2]), int(parts[-1])))
    return ports


def image_tag(reference: str) -> str | None:
    name = reference.split("@", 1)[0]
    last_segment = name.rsplit("/", 1)[-1]
    return last_segment.rsplit(":", 1)[1] if ":" in last_segment else None


def bind_sources(service: dict[str, Any]) -> list[str]:
    sources = []
    for volume in service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                sources.append(volume["source"])
        elif str(volume).startswith((".", "/", "~")):
            sources.append(str(volume).split(":", 1)[0])
    return sources


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> source, for short-syntax volumes."""
    result = {}
    for volume in service.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        result[target] = source
    return result


def flag_value(args: list[str], flag: str) -> str | None:
    """The value of ``--flag value``, ``--flag=value`` or ``-flag=value``."""
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


def flag_values(args: list[str], flag: str) -> list[str]:
    """Every value of a flag that may be repeated."""
    values = []
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            values.append(args[index + 1])
        elif arg.startswith(f"{flag}="):
            values.append(arg.split("=", 1)[1])
    return values


def script_commands(service: dict[str, Any]) -> list[list[str]]:
    """The commands of a service's shell script, one argument list per command line."""
    script = "\n".join(command_args(service, "entrypoint") + command_args(service))
    lines = script.replace("\\\n", " ").splitlines()
    return [args for line in lines if (args := shlex.split(line, comments=True))]


def kafka_property(variable: str) -> str:
    """The broker property an apache/kafka image variable sets: the image drops KAFKA_
    and reads `___` as a dash, `__` as an underscore and `_` as a dot."""
    name = variable.removeprefix("KAFKA_").lower()
    return (
        name.replace("___", "\0").replace("__", "\1").replace("_", ".").translate({0: "-", 1: "_"})
    )


def listener_addresses(value: str) -> dict[str, tuple[str, int]]:
    """Listener name -> (host, port) of a `NAME://host:port,...` list."""
    addresses = {}
    for item in value.split(","):
        name, address = item.split("://", 1)
        host, port = address.rsplit(":", 1)
        addresses[name] = (host, int(port))
    return addresses


def parse_properties(text: str) -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )


def parse_topic_creations(script: str) -> list[dict[str, Any]]:
    """Every `kafka-topics.sh --create` of a shell script, as name/partitions/configs."""
    creations = []
    for line in script.replace("\\\n", " ").splitlines():
        args = shlex.split(line, comments=True)
        if not args or not args[0].endswith("kafka-topics.sh") or "--create" not in args:
            continue
        configs = dict(
            args[index + 1].split("=", 1) for index, arg in enumerate(args) if arg == "--config"
        )
        creations.append(
            {
                "name": flag_value(args, "--topic"),
                "partitions": int(flag_value(args, "--partitions") or 0),
                # None: the broker's default.replication.factor, as in topics.yaml.
                "replication_factor": (
                    int(factor) if (factor := flag_value(args, "--replication-factor")) else None
                ),
                "configs": configs,
                "bootstrap": flag_value(args, "--bootstrap-server"),
                "if_not_exists": "--if-not-exists" in args,
            }
        )
    return creations


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture
def no_lab_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """LabSettings() with its documented defaults, whatever the caller's shell exports."""
    for name in list(os.environ):
        if name.startswith("KAFKALAB_"):
            monkeypatch.delenv(name)


@pytest.fixture
def cluster(tmp_path: Path, no_lab_environment: None) -> LabSettings:
    """Local mode's `./lab up --brokers 3`, which compose mode must equal."""
    return LabSettings(home=tmp_path).model_copy(update={"kafka_brokers": COMPOSE_BROKERS})


@pytest.fixture(scope="module")
def kafka_services(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every KRaft node of the compose file, by service name."""
    return {
        name: service
        for name, service in services.items()
        if str(service.get("image", "")).startswith("apache/kafka:")
        and "KAFKA_NODE_ID" in environment(service)
    }


@pytest.fixture(scope="module")
def internal_addresses(kafka_services: dict[str, dict[str, Any]]) -> list[str]:
    """host:port of every node as containers reach it: its service name and the port of
    its PLAINTEXT listener."""
    return sorted(
        f"{name}:{listener_addresses(environment(service)['KAFKA_LISTENERS'])['PLAINTEXT'][1]}"
        for name, service in kafka_services.items()
    )


def test_the_compose_file_declares_every_lab_service(services: dict[str, Any]) -> None:
    missing = sorted(LAB_SERVICES - set(services))
    assert missing == [], f"docker-compose.yml lacks the services {missing}"


def test_dependencies_name_services_of_this_file(services: dict[str, Any]) -> None:
    unknown = {
        f"{name} -> {dependency}"
        for name, service in services.items()
        for dependency in service.get("depends_on") or {}
        if dependency not in services
    }
    assert unknown == set(), f"depends_on names services that do not exist: {sorted(unknown)}"


def test_every_image_is_pinned_to_a_tag(services: dict[str, Any]) -> None:
    unpinned = {}
    for name, service in services.items():
        reference = service.get("image")
        if reference is None:
            unpinned[name] = "(no image: a built image must be named with a tag)"
        elif image_tag(reference) in (None, "latest"):
            unpinned[name] = reference
    assert unpinned == {}, f"images without a pinned tag: {unpinned}"


def test_built_images_come_from_a_dockerfile_in_the_repo(services: dict[str, Any]) -> None:
    built = {name: service["build"] for name, service in services.items() if "build" in service}
    assert "airflow-scheduler" in built and "fastapi_ingestor" in built
    missing = {}
    for name, build in built.items():
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        path = (REPO_ROOT / context / dockerfile).resolve()
        if not path.is_file():
            missing[name] = str(path)
    assert missing == {}, f"Dockerfiles not found: {missing}"


def test_every_bind_mount_and_config_file_exists(services: dict[str, Any]) -> None:
    referenced = {
        source for service in services.values() for source in bind_sources(service)
    } | set(re.findall(r"config/[\w./-]+", COMPOSE_FILE.read_text()))
    missing = sorted(path for path in referenced if not (REPO_ROOT / path).exists())
    assert missing == [], f"docker-compose.yml refers to files the repo does not have: {missing}"


@pytest.mark.parametrize("service_name", sorted(LOCAL_MODE_PORTS))
def test_host_ports_equal_the_local_mode_defaults(
    services: dict[str, Any], service_name: str, no_lab_environment: None
) -> None:
    field = LOCAL_MODE_PORTS[service_name]
    expected = getattr(LabSettings(), field)
    host_ports = [host for host, _ in published_ports(services[service_name])]
    assert expected in host_ports, (
        f"{service_name} publishes host ports {host_ports}; local mode serves it on "
        f"{expected} (LabSettings.{field}), and both modes must use the same address"
    )


@pytest.mark.parametrize("node_id", range(1, COMPOSE_BROKERS + 1))
def test_every_kafka_node_publishes_and_advertises_its_local_mode_port(
    services: dict[str, Any], cluster: LabSettings, node_id: int
) -> None:
    node = kafka_nodes(cluster)[node_id - 1]
    assert node.node_id == node_id
    service = services.get(node.service_name)
    assert service is not None, f"no service {node.service_name} for Kafka node {node_id}"
    env = environment(service)
    host_port = node.broker_port
    published = [target for host, target in published_ports(service) if host == host_port]
    _, listening = listener_addresses(env["KAFKA_LISTENERS"])["PLAINTEXT_HOST"]
    assert published == [listening], (
        f"{node.service_name}: local mode serves node {node_id} on {host_port} "
        f"(kafka_nodes() of {COMPOSE_BROKERS} brokers), and the node's host listener is on "
        f"{listening}; compose publishes (host, container) {published_ports(service)}"
    )
    advertised = listener_addresses(env["KAFKA_ADVERTISED_LISTENERS"])["PLAINTEXT_HOST"]
    assert advertised == ("localhost", host_port), (
        f"{node.service_name} advertises {advertised} to host clients, which then "
        f"connect there instead of localhost:{host_port}"
    )


def test_every_published_port_is_bound_to_loopback(services: dict[str, Any]) -> None:
    exposed = {
        name: str(entry)
        for name, service in services.items()
        for entry in service.get("ports") or []
        if not str(entry).startswith("127.0.0.1:")
    }
    assert exposed == {}, f"ports published on every interface: {exposed}"


def _listening_port(name: str, service: dict[str, Any]) -> int:
    if name == "objectstore":
        return int(flag_value(command_args(service), "-s3.port") or 0)
    return int(flag_value(command_args(service), "--port") or 0)


@pytest.mark.parametrize("service_name", sorted(LOCAL_MODE_PORTS))
def test_published_ports_reach_the_port_the_service_listens_on(
    services: dict[str, Any], service_name: str, no_lab_environment: None
) -> None:
    service = services[service_name]
    host_port = getattr(LabSettings(), LOCAL_MODE_PORTS[service_name])
    container_ports = [target for host, target in published_ports(service) if host == host_port]
    listening = _listening_port(service_name, service)
    assert container_ports == [listening], (
        f"{service_name}: host port {host_port} goes to container port(s) {container_ports}, "
        f"but the service listens on {listening}"
    )


def test_kafka_init_creates_exactly_the_topics_of_topics_yaml(services: dict[str, Any]) -> None:
    job = services["kafka-init"]
    script = "\n".join(command_args(job, "entrypoint") + command_args(job))
    creations = parse_topic_creations(script)
    created = {creation["name"]: creation for creation in creations}
    expected = {spec.name: spec for spec in load_topic_specs()}

    assert len(creations) == len(created), f"a topic is created twice: {creations}"
    assert set(created) == set(expected), (
        f"kafka-init creates {sorted(created)}; {TOPICS_FILE.name} declares {sorted(expected)}"
    )
    differences = []
    for name, spec in expected.items():
        creation = created[name]
        if creation["partitions"] != spec.partitions:
            differences.append(
                f"{name}: kafka-init creates {creation['partitions']} partitions, "
                f"{TOPICS_FILE.name} says {spec.partitions}"
            )
        if creation["replication_factor"] != spec.replication_factor:
            differences.append(
                f"{name}: replication factor {creation['replication_factor']} in kafka-init, "
                f"{spec.replication_factor} in {TOPICS_FILE.name}"
            )
        if creation["configs"] != spec.configs:
            differences.append(
                f"{name}: topic configs {creation['configs']} in kafka-init, "
                f"{spec.configs} in {TOPICS_FILE.name}"
            )
        if not creation["if_not_exists"]:
            differences.append(f"{name}: created without --if-not-exists (not idempotent)")
    assert differences == [], "\n".join(differences)


def test_compose_runs_the_nodes_of_the_local_three_broker_cluster(
    kafka_services: dict[str, dict[str, Any]], cluster: LabSettings
) -> None:
    expected = {node.service_name: node.node_id for node in kafka_nodes(cluster)}
    node_ids = {
        name: int(environment(service)["KAFKA_NODE_ID"]) for name, service in kafka_services.items()
    }
    assert node_ids == expected, (
        f"compose's Kafka nodes (service -> KAFKA_NODE_ID) are {node_ids}; "
        f"`./lab up --brokers {COMPOSE_BROKERS}` runs {expected}"
    )
    for name, service in kafka_services.items():
        env = environment(service)
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller", name
        assert env["KAFKA_HEAP_OPTS"] == cluster.kafka_heap, f"{name}: not local mode's heap"
        assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false", name


def test_the_kafka_nodes_share_a_cluster_id_and_a_quorum_of_every_node(
    kafka_services: dict[str, dict[str, Any]],
) -> None:
    envs = {name: environment(service) for name, service in kafka_services.items()}
    cluster_ids = {name: env.get("CLUSTER_ID") for name, env in envs.items()}
    assert len(set(cluster_ids.values())) == 1, f"the nodes differ in CLUSTER_ID: {cluster_ids}"
    cluster_id = next(iter(cluster_ids.values()))
    # What `kafka-storage random-uuid` prints: 16 bytes, URL-safe base64 without padding.
    assert cluster_id and len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, cluster_id

    voters = {name: env.get("KAFKA_CONTROLLER_QUORUM_VOTERS") for name, env in envs.items()}
    assert len(set(voters.values())) == 1, f"the nodes differ in their quorum voters: {voters}"
    shared = str(next(iter(voters.values())))
    named = {
        int(node_id): address
        for node_id, address in (voter.split("@", 1) for voter in shared.split(","))
    }
    expected = {}
    for name, env in envs.items():
        _, controller_port = listener_addresses(env["KAFKA_LISTENERS"])["CONTROLLER"]
        expected[int(env["KAFKA_NODE_ID"])] = f"{name}:{controller_port}"
    assert named == expected, (
        f"KAFKA_CONTROLLER_QUORUM_VOTERS names {named}; the nodes' controllers are {expected}"
    )


def test_replication_settings_equal_the_three_broker_server_properties(
    kafka_services: dict[str, dict[str, Any]], cluster: LabSettings
) -> None:
    replication = re.compile(r"replica|isr|unclean")
    differences = []
    for node in kafka_nodes(cluster):
        rendered = parse_properties(server_properties(cluster, node))
        expected = {key: value for key, value in rendered.items() if replication.search(key)}
        assert {"default.replication.factor", "min.insync.replicas"} <= set(expected)
        assert "unclean.leader.election.enable" in expected
        in_compose = {
            kafka_property(variable): value
            for variable, value in environment(kafka_services[node.service_name]).items()
            if variable.startswith("KAFKA_") and replication.search(kafka_property(variable))
        }
        for key in sorted(set(expected) | set(in_compose)):
            if in_compose.get(key) != expected.get(key):
                differences.append(
                    f"{node.service_name}: {key}={in_compose.get(key, '(unset)')} in compose, "
                    f"{expected.get(key, '(unset)')} in config/kafka/server.properties for "
                    f"{COMPOSE_BROKERS} brokers"
                )
    assert differences == [], "\n".join(differences)


def test_every_kafka_node_advertises_its_service_to_containers(
    kafka_services: dict[str, dict[str, Any]],
) -> None:
    problems = []
    for name, service in kafka_services.items():
        env = environment(service)
        _, port = listener_addresses(env["KAFKA_LISTENERS"])["PLAINTEXT"]
        advertised = listener_addresses(env["KAFKA_ADVERTISED_LISTENERS"])
        if advertised.get("PLAINTEXT") != (name, port):
            problems.append(
                f"{name} advertises {advertised.get('PLAINTEXT')} to containers; "
                f"they reach it at {name}:{port}"
            )
        if env.get("KAFKA_INTER_BROKER_LISTENER_NAME") != "PLAINTEXT":
            problems.append(f"{name}: the brokers must replicate over the containers' listener")
    assert problems == [], "\n".join(problems)


def test_every_kafka_node_keeps_its_log_in_its_own_named_volume(
    compose: dict[str, Any], kafka_services: dict[str, dict[str, Any]]
) -> None:
    volumes = {}
    for name, service in kafka_services.items():
        log_dir = environment(service)["KAFKA_LOG_DIRS"]
        volumes[name] = mounts(service).get(log_dir)
        assert volumes[name] in (compose.get("volumes") or {}), (
            f"{name} keeps {log_dir} in {volumes[name]}, not a named volume of the file"
        )
    assert len(set(volumes.values())) == len(volumes), f"nodes share a log volume: {volumes}"


def test_every_kafka_nodes_healthcheck_asks_the_node_itself(
    kafka_services: dict[str, dict[str, Any]],
) -> None:
    for name, service in kafka_services.items():
        test = " ".join(str(part) for part in service["healthcheck"]["test"])
        asks = interpolate(test)
        own = f"{name}:" in asks or ("${HOSTNAME}:" in asks and service.get("hostname") == name)
        assert own, f"{name}'s healthcheck may be answered by another node: {test}"


def _kafka_client_bootstraps(services: dict[str, Any]) -> dict[str, str]:
    """Where a compose client is told its brokers -> the list it is told."""
    kafka_conn = f"AIRFLOW_CONN_{AIRFLOW_CONNECTION_IDS['kafka'].upper()}"
    bootstraps = {}
    for name, service in services.items():
        env = environment(service)
        if "KAFKALAB_KAFKA_BOOTSTRAP" in env:
            bootstraps[f"{name} KAFKALAB_KAFKA_BOOTSTRAP"] = env["KAFKALAB_KAFKA_BOOTSTRAP"]
        if kafka_conn in env:
            extra = json.loads(env[kafka_conn])["extra"]
            bootstraps[f"{name} {kafka_conn}"] = extra["bootstrap.servers"]
        for index, args in enumerate(script_commands(service)):
            if args[0].startswith("/opt/kafka/bin/") and (
                server := flag_value(args, "--bootstrap-server")
            ):
                bootstraps[f"{name} command {index + 1} ({Path(args[0]).name})"] = server
        if exporter_servers := flag_values(command_args(service), "--kafka.server"):
            bootstraps[f"{name} --kafka.server"] = ",".join(exporter_servers)
    return bootstraps


def test_every_kafka_client_lists_every_broker(
    services: dict[str, Any], internal_addresses: list[str]
) -> None:
    bootstraps = _kafka_client_bootstraps(services)
    clients = {where.split(" ", 1)[0] for where in bootstraps}
    assert {"fastapi_ingestor", "airflow-scheduler", "kafka-init", "kafka-exporter"} <= clients
    wrong = {
        where: value
        for where, value in bootstraps.items()
        if sorted(value.split(",")) != internal_addresses
    }
    assert wrong == {}, (
        f"Kafka clients that do not list every broker ({','.join(internal_addresses)}): {wrong}"
    )


def test_kafka_init_waits_for_every_node_to_be_healthy(
    services: dict[str, Any], kafka_services: dict[str, dict[str, Any]]
) -> None:
    depends_on = services["kafka-init"].get("depends_on") or {}
    not_awaited = sorted(
        name
        for name in kafka_services
        if not isinstance(depends_on, dict)
        or (depends_on.get(name) or {}).get("condition") != "service_healthy"
    )
    assert not_awaited == [], (
        f"kafka-init creates topics of replication factor {COMPOSE_BROKERS} without waiting "
        f"for the nodes {not_awaited} to be healthy"
    )


def test_the_compose_settings_describe_the_compose_cluster(
    services: dict[str, Any],
    kafka_services: dict[str, dict[str, Any]],
    internal_addresses: list[str],
    monkeypatch: pytest.MonkeyPatch,
    no_lab_environment: None,
) -> None:
    for name, value in environment(services["fastapi_ingestor"]).items():
        if name.startswith("KAFKALAB_"):
            monkeypatch.setenv(name, value)
    settings = LabSettings()
    assert settings.kafka_brokers == len(kafka_services), (
        f"KAFKALAB_BROKERS is {settings.kafka_brokers}; compose runs {len(kafka_services)} nodes"
    )
    assert sorted(settings.kafka_bootstrap.split(",")) == internal_addresses, (
        f"the compose settings bootstrap from {settings.kafka_bootstrap}, "
        f"not from every node ({','.join(internal_addresses)})"
    )


@pytest.mark.parametrize("service_name", AIRFLOW_SERVICES)
def test_airflow_connection_ids_are_the_ones_the_lab_code_uses(
    services: dict[str, Any], service_name: str
) -> None:
    env = environment(services[service_name])
    conn_ids = {
        name.removeprefix("AIRFLOW_CONN_").lower(): value
        for name, value in env.items()
        if name.startswith("AIRFLOW_CONN_")
    }
    assert set(conn_ids) == set(AIRFLOW_CONNECTION_IDS.values())
    for conn_id, value in conn_ids.items():
        assert "conn_type" in json.loads(value), f"{conn_id}: not a JSON connection"


def test_connections_equal_what_the_lab_renders_for_the_compose_settings(
    services: dict[str, Any], monkeypatch: pytest.MonkeyPatch, no_lab_environment: None
) -> None:
    env = environment(services["airflow-scheduler"])
    for name, value in env.items():
        if name.startswith("KAFKALAB_"):
            monkeypatch.setenv(name, value)
    settings = LabSettings()
    assert settings.profile == "compose"
    rendered = {conn_id: json.loads(uri) for conn_id, uri in connection_uris(settings).items()}

    for key in ("kafka", "object_store"):
        conn_id = AIRFLOW_CONNECTION_IDS[key]
        in_compose = json.loads(env[f"AIRFLOW_CONN_{conn_id.upper()}"])
        assert in_compose == rendered[conn_id], f"{conn_id} differs from connection_uris()"

    spark_conn_id = AIRFLOW_CONNECTION_IDS["spark"]
    spark = json.loads(env[f"AIRFLOW_CONN_{spark_conn_id.upper()}"])
    master = command_args(services["spark-master"])
    master_url = f"spark://{flag_value(master, '--host')}:{flag_value(master, '--port')}"
    assert spark["host"] == master_url
    assert master_url in command_args(services["spark-worker"])


def _scaling_exercise_cores() -> int:
    """The executor cores the scaling exercise's scaled phase asks for by default."""
    for node in ast.walk(ast.parse(SCALING_DAG.read_text())):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "scaled_cores"
                    and isinstance(value, ast.Call)
                    and isinstance(value.args[0], ast.Constant)
                ):
                    return int(value.args[0].value)
    raise AssertionError(f"no scaled_cores param in {SCALING_DAG.name}")


def test_the_spark_worker_joins_the_master_with_the_cores_the_exercises_need(
    services: dict[str, Any],
) -> None:
    master = command_args(services["spark-master"])
    assert "org.apache.spark.deploy.master.Master" in master
    master_url = f"spark://{flag_value(master, '--host')}:{flag_value(master, '--port')}"
    worker = services["spark-worker"]
    args = command_args(worker)
    assert "org.apache.spark.deploy.worker.Worker" in args
    assert master_url in args, f"the worker registers with {args[-1]}, not {master_url}"
    condition = (worker.get("depends_on") or {}).get("spark-master") or {}
    assert condition.get("condition") == "service_healthy", (
        "spark-worker must wait for a healthy spark-master"
    )
    cores, needed = int(flag_value(args, "--cores") or 0), _scaling_exercise_cores()
    assert cores >= needed, (
        f"the worker offers {cores} cores; the scaling exercise's scaled job asks for {needed}"
    )
    masters = {
        name: environment(service)["KAFKALAB_SPARK_MASTER"]
        for name, service in services.items()
        if "KAFKALAB_SPARK_MASTER" in environment(service)
    }
    assert {"airflow-scheduler", "lab-init"} <= set(masters)
    wrong = {name: value for name, value in masters.items() if value != master_url}
    assert wrong == {}, f"KAFKALAB_SPARK_MASTER is not {master_url}: {wrong}"


def test_two_applications_share_the_spark_worker(services: dict[str, Any]) -> None:
    """The DR drill pauses a streaming job, whose application keeps its cores, and runs
    the replay job next to it: the worker must have cores left for the second."""
    options = environment(services["spark-master"]).get("SPARK_MASTER_OPTS", "")
    properties = dict(
        option.removeprefix("-D").split("=", 1)
        for option in shlex.split(options)
        if option.startswith("-D")
    )
    default_cores = properties.get("spark.deploy.defaultCores")
    assert default_cores is not None, (
        "without spark.deploy.defaultCores in SPARK_MASTER_OPTS, an application that asks "
        "for no cores takes every core of the worker"
    )
    worker_cores = int(flag_value(command_args(services["spark-worker"]), "--cores") or 0)
    assert 2 * int(default_cores) <= worker_cores, (
        f"two applications of {default_cores} core(s) each do not fit on a worker of {worker_cores}"
    )


def test_airflow_secrets_are_read_from_files_that_lab_init_writes(
    services: dict[str, Any],
) -> None:
    written = {
        secret.file_name
        for secret in (
            compose_init.AIRFLOW_JWT_SECRET,
            compose_init.AIRFLOW_API_SECRET_KEY,
            compose_init.AIRFLOW_ADMIN_PASSWORD,
            compose_init.POSTGRES_PASSWORD,
        )
    } | {compose_init.SQL_ALCHEMY_CONN_FILE, compose_init.PASSWORDS_FILE}
    secrets_dir = str(compose_init.DEFAULT_SECRETS_DIR)
    lab_init_mounts = mounts(services["lab-init"])
    assert secrets_dir in lab_init_mounts

    problems = []
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        for option in (
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            "AIRFLOW__API_AUTH__JWT_SECRET",
            "AIRFLOW__API__SECRET_KEY",
        ):
            if option in env:
                problems.append(f"{name}: {option} is a literal; use {option}_CMD")
            command = shlex.split(env.get(f"{option}_CMD", ""))
            if len(command) != 2 or command[0] != "cat":
                problems.append(f"{name}: {option}_CMD should be `cat <file>`, is {command}")
                continue
            path = Path(command[1])
            if str(path.parent) != secrets_dir or path.name not in written:
                problems.append(f"{name}: {option}_CMD reads {path}, which lab-init never writes")
        if mounts(services[name]).get(secrets_dir) != lab_init_mounts[secrets_dir]:
            problems.append(f"{name}: does not mount lab-init's secrets volume at {secrets_dir}")
    assert problems == [], "\n".join(problems)


def test_postgres_matches_the_database_url_lab_init_writes(services: dict[str, Any]) -> None:
    postgres = environment(services[compose_init.POSTGRES_HOST])
    assert "POSTGRES_PASSWORD" not in postgres, "the Postgres password must not be a literal"
    assert postgres["POSTGRES_USER"] == compose_init.POSTGRES_USER
    assert postgres["POSTGRES_DB"] == compose_init.POSTGRES_DB
    secrets_dir = compose_init.DEFAULT_SECRETS_DIR
    password_file = Path(postgres["POSTGRES_PASSWORD_FILE"])
    assert password_file == secrets_dir / compose_init.POSTGRES_PASSWORD.file_name
    lab_init_volume = mounts(services["lab-init"])[str(secrets_dir)]
    postgres_volume = mounts(services[compose_init.POSTGRES_HOST]).get(str(secrets_dir))
    assert postgres_volume == lab_init_volume, (
        f"postgres mounts {postgres_volume} at {secrets_dir}, lab-init writes {lab_init_volume}"
    )


def test_the_ingestor_module_named_by_its_command_exists(services: dict[str, Any]) -> None:
    args = command_args(services["fastapi_ingestor"])
    assert args[0] == "uvicorn"
    target = next(arg for arg in args[1:] if not arg.startswith("-"))
    module, attribute = target.split(":")
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"fastapi_ingestor runs {module}: not importable"
    path = Path(spec.origin)
    tree = ast.parse(path.read_text())
    defined = {
        assigned.id
        for node in tree.body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for assigned in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(assigned, ast.Name)
    }
    assert attribute in defined, f"{module} defines no module-level {attribute}"


def test_every_long_running_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    one_shot = {
        dependency
        for service in services.values()
        for dependency, condition in (service.get("depends_on") or {}).items()
        if isinstance(condition, dict)
        and condition.get("condition") == "service_completed_successfully"
    }
    assert {"kafka-init", "airflow-init"} <= one_shot

    without = sorted(
        name
        for name, service in services.items()
        if name not in one_shot
        and (
            not (service.get("healthcheck") or {}).get("test")
            or (service.get("healthcheck") or {}).get("disable")
        )
    )
    assert without == [], f"long-running services without a healthcheck: {without}"
    restarting = sorted(
        name for name in one_shot if services[name].get("restart", "no") not in ("no", False)
    )
    assert restarting == [], f"one-shot jobs must not be restarted: {restarting}"


def test_prometheus_scrapes_the_exporter_and_the_ingestor(services: dict[str, Any]) -> None:
    config = yaml.safe_load(PROMETHEUS_FILE.read_text())
    targets = {}
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            for target in static["targets"]:
                targets[target] = job.get("metrics_path", "/metrics")
    assert targets.get("kafka-exporter:9308") == "/metrics"
    assert targets.get("fastapi_ingestor:8000") == "/metrics"
    unknown = sorted(
        target
        for target in targets
        if target.split(":")[0] not in services and not target.startswith("localhost:")
    )
    assert unknown == [], f"Prometheus scrapes hosts that are not compose services: {unknown}"


def _provisioned_datasources() -> list[dict[str, Any]]:
    return [
        datasource
        for path in sorted(GRAFANA_DATASOURCES.glob("*.y*ml"))
        for datasource in yaml.safe_load(path.read_text())["datasources"]
    ]


def _datasource_uids(node: Any) -> set[str]:
    uids: set[str] = set()
    if isinstance(node, dict):
        reference = node.get("datasource")
        if isinstance(reference, dict) and "uid" in reference:
            uids.add(reference["uid"])
        for value in node.values():
            uids |= _datasource_uids(value)
    elif isinstance(node, list):
        for item in node:
            uids |= _datasource_uids(item)
    return uids


def test_the_lag_dashboard_uses_the_provisioned_prometheus_datasource(
    services: dict[str, Any],
) -> None:
    prometheus_sources = [ds for ds in _provisioned_datasources() if ds["type"] == "prometheus"]
    assert len(prometheus_sources) == 1
    datasource = prometheus_sources[0]
    assert datasource["url"] == f"http://prometheus:{published_ports(services['prometheus'])[0][1]}"

    dashboard = json.loads(LAG_DASHBOARD.read_text())
    assert _datasource_uids(dashboard) == {datasource["uid"]}


def test_the_lag_dashboard_shows_lag_throughput_and_partitions() -> None:
    dashboard = json.loads(LAG_DASHBOARD.read_text())
    expressions = " ".join(
        target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])
    )
    used = set(re.findall(r"\bkafka_[a-z_]+\b", expressions))
    missing = LAG_DASHBOARD_METRICS - used
    assert missing == set(), f"the lag dashboard queries none of {sorted(missing)}"
    assert "sum by (consumergroup, topic) (kafka_consumergroup_lag" in expressions
    assert "rate(kafka_topic_partition_current_offset" in expressions


def test_grafana_mounts_the_dashboards_where_the_provider_reads_them(
    services: dict[str, Any],
) -> None:
    providers = [
        provider
        for path in sorted(GRAFANA_PROVIDERS.glob("*.y*ml"))
        for provider in yaml.safe_load(path.read_text())["providers"]
    ]
    provider_paths = {provider["options"]["path"] for provider in providers}
    grafana_mounts = mounts(services["grafana"])
    dashboards_source = "./" + str(LAG_DASHBOARD.parent.relative_to(REPO_ROOT))
    mounted_at = {
        target for target, source in grafana_mounts.items() if source == dashboards_source
    }
    assert mounted_at & provider_paths, (
        f"{dashboards_source} is mounted at {sorted(mounted_at)}, "
        f"the dashboard provider reads {sorted(provider_paths)}"
    )
