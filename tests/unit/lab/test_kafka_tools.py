from __future__ import annotations

import base64
import json
import uuid

import pytest

from kafkalab.lab.stack.kafka import (
    KAFKA_TOOLS,
    UnknownKafkaTool,
    format_storage_command,
    kafka_nodes,
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


def test_a_cluster_id_never_starts_like_an_option(monkeypatch) -> None:
    # 0xF8: the first six bits are 62, "-" in URL-safe base64.
    drawn = iter([uuid.UUID(bytes=b"\xf8" + bytes(15)), uuid.UUID(bytes=b"\x10" + bytes(15))])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(drawn))
    assert new_cluster_id() == base64.urlsafe_b64encode(b"\x10" + bytes(15)).decode()[:22]


def _properties(text: str) -> dict[str, str]:
    lines = (line.strip() for line in text.splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_server_properties_bind_the_configured_ports(tmp_path) -> None:
    settings = LabSettings(
        home=tmp_path, kafka_broker_port=19092, kafka_guide_port=19094, kafka_controller_port=19093
    )
    [node] = kafka_nodes(settings)
    properties = _properties(render_server_properties(settings, node).read_text())
    assert properties["listeners"].split(",") == [
        "PLAINTEXT://127.0.0.1:19092",
        "LAB_GUIDE://127.0.0.1:19094",
        "CONTROLLER://127.0.0.1:19093",
    ]
    assert properties["log.dirs"] == str(tmp_path / "data" / "kafka")
    assert properties["auto.create.topics.enable"] == "false"


def test_the_lab_guide_address_is_a_loopback_listener_of_the_broker(tmp_path) -> None:
    # The guide's commands say --bootstrap-server localhost:29092.
    settings = LabSettings(home=tmp_path)
    properties = _properties(
        render_server_properties(settings, kafka_nodes(settings)[0]).read_text()
    )
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


def _cluster(tmp_path) -> LabSettings:
    return LabSettings(home=tmp_path).model_copy(update={"kafka_brokers": 3})


def test_one_broker_is_the_default_with_replication_factor_one(tmp_path) -> None:
    settings = LabSettings(home=tmp_path)
    [node] = kafka_nodes(settings)
    properties = _properties(render_server_properties(settings, node).read_text())
    assert properties["node.id"] == "1"
    assert properties["controller.quorum.bootstrap.servers"] == "127.0.0.1:9093"
    assert properties["default.replication.factor"] == "1"
    assert properties["min.insync.replicas"] == "1"
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert "--standalone" in format_storage_command(settings, node)


def test_three_brokers_each_have_their_own_ports_data_and_node_id(tmp_path) -> None:
    settings = _cluster(tmp_path)
    nodes = kafka_nodes(settings)
    assert [n.service_name for n in nodes] == ["kafka", "kafka-2", "kafka-3"]
    assert [n.broker_port for n in nodes] == [9092, 9192, 9292]
    assert [n.controller_port for n in nodes] == [9093, 9193, 9293]
    assert [n.guide_port for n in nodes] == [29092, 29192, 29292]
    assert len({n.data_dir for n in nodes}) == 3
    # Apart from the one-broker stack's data: the two are different clusters.
    assert settings.paths.kafka_data not in {n.data_dir for n in nodes}
    assert settings.kafka_bootstrap == "127.0.0.1:9092,127.0.0.1:9192,127.0.0.1:9292"


def test_a_cluster_replicates_every_partition_three_times_and_acks_at_two(tmp_path) -> None:
    settings = _cluster(tmp_path)
    for node in kafka_nodes(settings):
        properties = _properties(render_server_properties(settings, node).read_text())
        assert properties["node.id"] == str(node.node_id)
        assert properties["controller.quorum.voters"] == (
            "1@127.0.0.1:9093,2@127.0.0.1:9193,3@127.0.0.1:9293"
        )
        assert "controller.quorum.bootstrap.servers" not in properties
        for key in (
            "default.replication.factor",
            "offsets.topic.replication.factor",
            "transaction.state.log.replication.factor",
        ):
            assert properties[key] == "3", key
        assert properties["min.insync.replicas"] == "2"
        assert properties["transaction.state.log.min.isr"] == "2"
        assert properties["unclean.leader.election.enable"] == "false"
        assert properties["log.dirs"] == str(node.data_dir)


def test_every_node_of_a_cluster_is_formatted_with_the_same_cluster_id(tmp_path) -> None:
    settings = _cluster(tmp_path)
    commands = [format_storage_command(settings, node) for node in kafka_nodes(settings)]
    ids = {command[command.index("--cluster-id") + 1] for command in commands}
    assert len(ids) == 1
    assert not any("--standalone" in command for command in commands)


def test_the_stack_runs_a_service_per_node_and_waits_for_all_before_airflow(tmp_path) -> None:
    from kafkalab.lab.stack.environment import connection_uris
    from kafkalab.lab.stack.lifecycle import Stack

    stack = Stack(_cluster(tmp_path))
    names = [s.name for s in stack.services]
    assert names[:3] == ["kafka", "kafka-2", "kafka-3"]
    assert stack.prerequisites() == ["kafka", "kafka-2", "kafka-3", "s3"]
    # Clients in Airflow tasks get every broker: one being down must not strand them.
    kafka_connection = json.loads(connection_uris(stack.settings)["kafka_default"])
    assert kafka_connection["extra"]["bootstrap.servers"] == stack.settings.kafka_bootstrap
    one = Stack(LabSettings(home=tmp_path))
    assert one.config_digest(one.service("kafka")) != stack.config_digest(stack.service("kafka"))


def test_the_quorum_status_is_summed_up_in_one_line() -> None:
    from kafkalab.lab.stack.lifecycle import describe_quorum_status

    output = (
        "ClusterId:              MkU3OEVBNTcwNTJENDM2Qg\n"
        "LeaderId:               2\n"
        "LeaderEpoch:            7\n"
        "HighWatermark:          1234\n"
        "MaxFollowerLag:         0\n"
        "MaxFollowerLagTimeMs:   0\n"
        'CurrentVoters:          [{"id": 1, "directoryId": "a", "endpoints": []}, '
        '{"id": 2, "directoryId": "b", "endpoints": []}, {"id": 3, "endpoints": []}]\n'
        "CurrentObservers:       []\n"
    )
    assert describe_quorum_status(output) == (
        "leader 2 (epoch 7), voters 1,2,3, max follower lag 0"
    )


def test_the_recorded_nodes_are_the_topology_until_down(tmp_path) -> None:
    from kafkalab.lab.cli import running_topology
    from kafkalab.lab.stack.lifecycle import running_kafka_brokers
    from kafkalab.lab.stack.process import ProcessRegistry

    settings = LabSettings(home=tmp_path)
    assert running_kafka_brokers(settings) is None
    assert running_topology(settings).kafka_brokers == 1
    registry = ProcessRegistry(settings.paths.run, settings.paths.logs)
    for name in ("kafka", "kafka-2", "kafka-3", "s3", "spark-failover-x"):
        # A record without a live process: a node killed by the failover drill still
        # belongs to the cluster; only `./lab down` removes records.
        registry.run_dir.mkdir(parents=True, exist_ok=True)
        registry.record_path(name).write_text(
            json.dumps(
                {"name": name, "pid": 999999999, "create_time": 0.0, "command": [], "log_path": ""}
            )
        )
    assert running_kafka_brokers(settings) == 3
    assert running_topology(settings).kafka_brokers == 3
    registry.record_path("kafka-2").unlink()
    registry.record_path("kafka-3").unlink()
    assert running_topology(settings.model_copy(update={"kafka_brokers": 3})).kafka_brokers == 1
