from __future__ import annotations

import base64

import pytest

from kafkalab.settings import LabSettings
from kafkalab.stack.kafka import (
    KAFKA_TOOLS,
    UnknownKafkaTool,
    new_cluster_id,
    render_server_properties,
    tool_command,
)

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


def test_server_properties_bind_the_configured_ports(tmp_path) -> None:
    settings = LabSettings(home=tmp_path, kafka_broker_port=19092, kafka_controller_port=19093)
    text = render_server_properties(settings).read_text()
    assert "listeners=PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093" in text
    assert f"log.dirs={tmp_path / 'data' / 'kafka'}" in text
    assert "auto.create.topics.enable=false" in text
