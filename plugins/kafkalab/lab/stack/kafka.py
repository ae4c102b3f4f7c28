"""The Apache Kafka broker and Kafka's own CLI tools, run from the Maven jars."""

from __future__ import annotations

import base64
import uuid
from pathlib import Path
from string import Template

from kafkalab.settings import REPO_ROOT, LabSettings

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


def server_properties_path(settings: LabSettings) -> Path:
    return settings.paths.conf / "kafka" / "server.properties"


def server_properties(settings: LabSettings) -> str:
    return Template(SERVER_PROPERTIES_TEMPLATE.read_text()).substitute(
        broker_port=settings.kafka_broker_port,
        guide_port=settings.kafka_guide_port,
        controller_port=settings.kafka_controller_port,
        log_dirs=settings.paths.kafka_data,
    )


def render_server_properties(settings: LabSettings) -> Path:
    path = server_properties_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(server_properties(settings))
    return path


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def is_storage_formatted(settings: LabSettings) -> bool:
    return (settings.paths.kafka_data / "meta.properties").exists()


def format_storage_command(settings: LabSettings) -> list[str]:
    return _with_log_level(
        java_command(
            settings,
            KAFKA_TOOLS["kafka-storage"],
            [
                "format",
                "--standalone",
                "--cluster-id",
                new_cluster_id(),
                "--config",
                str(server_properties_path(settings)),
                "--ignore-formatted",
            ],
        ),
        "WARN",
    )


def broker_command(settings: LabSettings) -> list[str]:
    return java_command(
        settings,
        KAFKA_TOOLS["kafka-server-start"],
        [str(server_properties_path(settings))],
        heap=settings.kafka_heap,
    )
