from __future__ import annotations

import base64

import pytest

from kafkalab.lab.stack.kafka import (
    KAFKA_TOOLS,
    UnknownKafkaTool,
    new_cluster_id,
    render_server_properties,
    tool_command,
)
from kafkalab.settings import LabSettings

LAB_GUIDE_TOOLS = [
    "kafka-topics",
    "kafka-console-consumer",
    "kafka-console-producer",
    "kafka-consumer-groups",
    "kafka-get-offsets",
    "kafka-producer-perf-test",
    "kafka-consumer-perf-test",
]


@pytest.mark.parametrize("tool", LAB_GUIDE_TOOLS)
def test_every_lab_guide_tool_runs_its_main_class_with_the_given_args(tool: str) -> None:
    command = tool_command(LabSettings(), tool, ["--bootstrap-server", "127.0.0.1:9092"])
    assert command[0] == "java"
    assert command[-3:] == [KAFKA_TOOLS[tool], "--bootstrap-server", "127.0.0.1:9092"]


def test_script_names_with_sh_suffix_are_accepted() -> None:
    assert KAFKA_TOOLS["kafka-topics"] in tool_command(LabSettings(), "kafka-topics.sh", [])


def test_unknown_tool_names_the_known_ones() -> None:
    with pytest.raises(UnknownKafkaTool, match="kafka-topics"):
        tool_command(LabSettings(), "kafka-topicz", [])


def test_cluster_id_is_16_bytes_of_url_safe_base64() -> None:
    cluster_id = new_cluster_id()
    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def _properties(text: str) -> dict[str, str]:
    lines = (line.strip() for line in text.splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_server_properties_bind_the_configured_ports(tmp_path) -> None:
    settings = LabSettings(
        home=tmp_path, kafka_broker_port=19092, kafka_guide_port=19094, kafka_controller_port=19093
    )
    properties = _properties(render_server_properties(settings).read_text())
    assert properties["listeners"].split(",") == [
        "PLAINTEXT://127.0.0.1:19092",
        "LAB_GUIDE://127.0.0.1:19094",
        "CONTROLLER://127.0.0.1:19093",
    ]
    assert properties["log.dirs"] == str(tmp_path / "data" / "kafka")
    assert properties["auto.create.topics.enable"] == "false"


def test_the_lab_guide_address_is_a_loopback_listener_of_the_broker(tmp_path) -> None:
    # The guide's commands say --bootstrap-server localhost:29092.
    properties = _properties(render_server_properties(LabSettings(home=tmp_path)).read_text())
    assert "LAB_GUIDE://127.0.0.1:29092" in properties["listeners"].split(",")
    # Clients that bootstrap there are told to stay there.
    assert "LAB_GUIDE://127.0.0.1:29092" in properties["advertised.listeners"].split(",")
    assert "LAB_GUIDE:PLAINTEXT" in properties["listener.security.protocol.map"].split(",")


def test_a_changed_broker_config_restarts_the_broker_on_the_next_up(tmp_path) -> None:
    from kafkalab.lab.stack.lifecycle import Stack

    before = Stack(LabSettings(home=tmp_path))
    after = Stack(LabSettings(home=tmp_path, kafka_guide_port=29192))
    assert before.config_digest(before.service("kafka")) != after.config_digest(
        after.service("kafka")
    )
    assert before.config_digest(before.service("s3")) == after.config_digest(after.service("s3"))
