"""The Apache Kafka broker and Kafka's own CLI tools, run from the Maven jars."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from pathlib import Path
from string import Template

from kafkalab.settings import KAFKA_NODE_PORT_STEP, REPO_ROOT, LabSettings

SERVER_PROPERTIES_TEMPLATE = REPO_ROOT / "config" / "kafka" / "server.properties"
LOG4J2_CONFIG = REPO_ROOT / "config" / "kafka" / "log4j2.yaml"

# The main classes behind the `bin/kafka-*.sh` scripts of a Kafka 4 distribution.
KAFKA_TOOLS: dict[str, str] = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-configs": "org.apache.kafka.tools.ConfigCommand",
    "kafka-storage": "kafka.tools.StorageTool",
    "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-leader-election": "org.apache.kafka.tools.LeaderElectionCommand",
    "kafka-reassign-partitions": "org.apache.kafka.tools.reassign.ReassignPartitionsCommand",
    "kafka-server-start": "kafka.Kafka",
}


class UnknownKafkaTool(ValueError):
    def __init__(self, tool: str) -> None:
        known = ", ".join(sorted(KAFKA_TOOLS))
        super().__init__(f"unknown Kafka tool {tool!r}; known tools: {known}")


def java_command(
    settings: LabSettings, main_class: str, args: list[str], heap: str = "-Xmx512m"
) -> list[str]:
    classpath = str(settings.paths.kafka_jars / "*")
    return [
        "java",
        *heap.split(),
        "-XX:+UseG1GC",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={LOG4J2_CONFIG}",
        "-cp",
        classpath,
        main_class,
        *args,
    ]


def tool_command(settings: LabSettings, tool: str, args: list[str]) -> list[str]:
    tool = tool.removesuffix(".sh")
    if tool not in KAFKA_TOOLS:
        raise UnknownKafkaTool(tool)
    # Like Kafka's bin/ scripts, the tools log only warnings: their output stays readable.
    return _with_log_level(java_command(settings, KAFKA_TOOLS[tool], args), "WARN")


def _with_log_level(command: list[str], level: str) -> list[str]:
    return [command[0], f"-Dkafka.root.level={level}", *command[1:]]


@dataclass(frozen=True)
class KafkaNode:
    """One KRaft node of the lab's Kafka: broker and controller in one process."""

    node_id: int
    broker_port: int
    guide_port: int
    controller_port: int
    data_dir: Path
    properties_path: Path

    @property
    def service_name(self) -> str:
        # Node 1 keeps the one-broker stack's name: `./lab logs kafka` works in both.
        return "kafka" if self.node_id == 1 else f"kafka-{self.node_id}"


def kafka_nodes(settings: LabSettings) -> list[KafkaNode]:
    """The nodes of the configured cluster, node 1 first.

    A cluster keeps its data apart from the one-broker stack's: the two are different
    Kafka clusters (a static quorum of three voters against a standalone one), and
    switching between them loses neither.
    """
    conf = settings.paths.conf / "kafka"
    if settings.kafka_brokers == 1:
        return [
            KafkaNode(
                1,
                settings.kafka_broker_port,
                settings.kafka_guide_port,
                settings.kafka_controller_port,
                settings.paths.kafka_data,
                conf / "server.properties",
            )
        ]
    return [
        KafkaNode(
            node_id,
            settings.kafka_broker_port + offset,
            settings.kafka_guide_port + offset,
            settings.kafka_controller_port + offset,
            cluster_data_dir(settings) / f"node-{node_id}",
            conf / f"server-{node_id}.properties",
        )
        for node_id, offset in (
            (n + 1, n * KAFKA_NODE_PORT_STEP) for n in range(settings.kafka_brokers)
        )
    ]


def cluster_data_dir(settings: LabSettings) -> Path:
    return settings.paths.data / f"kafka-cluster-{settings.kafka_brokers}"


def controller_quorum(settings: LabSettings, node: KafkaNode) -> str:
    if settings.kafka_brokers == 1:
        # A dynamic quorum of one, formatted with --standalone.
        return f"controller.quorum.bootstrap.servers={settings.host}:{node.controller_port}"
    voters = ",".join(
        f"{n.node_id}@{settings.host}:{n.controller_port}" for n in kafka_nodes(settings)
    )
    # A static quorum: every node knows all voters from its configuration, so the
    # cluster forms whichever node starts first, and a node restarted after `kill -9`
    # rejoins without any reconfiguration.
    return f"controller.quorum.voters={voters}"


def server_properties(settings: LabSettings, node: KafkaNode) -> str:
    return Template(SERVER_PROPERTIES_TEMPLATE.read_text()).substitute(
        node_id=node.node_id,
        host=settings.host,
        broker_port=node.broker_port,
        guide_port=node.guide_port,
        controller_port=node.controller_port,
        controller_quorum=controller_quorum(settings, node),
        log_dirs=node.data_dir,
        replication_factor=settings.kafka_replication_factor,
        min_insync_replicas=settings.kafka_min_insync_replicas,
    )


def render_server_properties(settings: LabSettings, node: KafkaNode) -> Path:
    node.properties_path.parent.mkdir(parents=True, exist_ok=True)
    node.properties_path.write_text(server_properties(settings, node))
    return node.properties_path


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding.

    Drawn again when it starts with "-", as Kafka's own ``Uuid.randomUuid`` does:
    `kafka-storage format --cluster-id -xyz` reads such an id as an option and fails
    ("expected one argument"), one cluster in 64.
    """
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate


def cluster_id(settings: LabSettings) -> str:
    """The id every node of a cluster is formatted with, chosen once per cluster."""
    path = cluster_data_dir(settings) / "cluster-id"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_cluster_id())
    return path.read_text().strip()


def is_storage_formatted(node: KafkaNode) -> bool:
    return (node.data_dir / "meta.properties").exists()


def format_storage_command(settings: LabSettings, node: KafkaNode) -> list[str]:
    if settings.kafka_brokers == 1:
        quorum_args = ["--standalone", "--cluster-id", new_cluster_id()]
    else:
        quorum_args = ["--cluster-id", cluster_id(settings)]
    return _with_log_level(
        java_command(
            settings,
            KAFKA_TOOLS["kafka-storage"],
            [
                "format",
                *quorum_args,
                "--config",
                str(node.properties_path),
                "--ignore-formatted",
            ],
        ),
        "WARN",
    )


def broker_command(settings: LabSettings, node: KafkaNode) -> list[str]:
    return java_command(
        settings,
        KAFKA_TOOLS["kafka-server-start"],
        [str(node.properties_path)],
        heap=settings.kafka_heap,
    )
