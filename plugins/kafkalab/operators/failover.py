"""The broker-failover drill: lose the busiest leader with `kill -9`, watch the cluster heal.

The broker is one of the lab's own Kafka nodes (``kafkalab.lab.stack``): killed and
restarted through the same process records `./lab up` keeps, so `./lab status` and
`./lab down` see what the drill did. Leadership and in-sync replicas are Kafka's own
metadata (``kafkalab.domain.cluster``), polled by ``PartitionStateSensor``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.domain.cluster import (
    Condition,
    NotAReplicatedCluster,
    PartitionState,
    busiest_leader,
    describe,
    ingest_dip,
    led_by,
    require_replicated,
)
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.sensors.base import DeferrableSensor
from kafkalab.settings import get_settings
from kafkalab.triggers.cluster import PartitionStateTrigger

log = logging.getLogger(__name__)


def _node_service(broker: int) -> str:
    from kafkalab.lab.stack.kafka import kafka_nodes

    settings = get_settings()
    for node in kafka_nodes(settings):
        if node.node_id == broker:
            return node.service_name
    raise AirflowFailException(
        f"broker {broker} is not one of the lab's {settings.kafka_brokers} Kafka node(s): "
        "is KAFKALAB_BROKERS the broker count the stack runs with (`./lab status`)?"
    )


class _TopicOperator(BaseOperator):
    """An operator on one topic's partitions, through the lab's Kafka connection."""

    template_fields: Sequence[str] = ("topic",)

    def __init__(
        self,
        *,
        topic: str,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.topic = topic
        self.kafka_config_id = kafka_config_id

    def partition_states(self) -> tuple[list[int], list[PartitionState]]:
        """The cluster's broker ids and the topic's partition states."""
        with LabKafkaHook(self.kafka_config_id).lab_admin() as admin:
            return admin.broker_ids(), admin.partition_states(self.topic)


class ClusterReplicatedOperator(_TopicOperator):
    """The drill's precondition: three brokers, and every partition of ``topic`` with three
    replicas, all in sync. Refuses otherwise (a misconfigured exercise, no retry): the
    drill is about a cluster that can lose a broker, not about one that cannot."""

    ui_color = "#d5f5e3"

    def execute(self, context: Context) -> dict[str, Any]:
        brokers, states = self.partition_states()
        try:
            require_replicated(self.topic, states, len(brokers))
        except NotAReplicatedCluster as exc:
            raise AirflowFailException(str(exc)) from exc
        return {"brokers": brokers, "partitions": [s.to_dict() for s in states]}


class KillBusiestLeaderOperator(_TopicOperator):
    """`kill -9` the broker that leads the most partitions of ``topic``."""

    ui_color = "#f5b7b1"

    def execute(self, context: Context) -> dict[str, Any]:
        from kafkalab.lab.stack.lifecycle import Stack

        _, states = self.partition_states()
        broker = busiest_leader(states)
        service = _node_service(broker)
        handle = Stack(get_settings()).kill(service)
        killed_at = time.time()
        self.log.warning(
            "killed broker %s (%s, pid %s), leader of partitions %s of %s",
            broker,
            service,
            handle.pid,
            led_by(states, broker),
            self.topic,
        )
        return {
            "broker": broker,
            "service": service,
            "pid": handle.pid,
            "killed_at": killed_at,
            "led_partitions": led_by(states, broker),
            "partitions_before": [s.to_dict() for s in states],
        }


class RestartBrokerOperator(BaseOperator):
    """Start the killed broker again and wait until it is registered with the cluster.

    ``restart`` false leaves it down (the drill's ``broker_not_restarted`` fault); a
    broker that is already up is left as it is (the teardown's safety net).
    """

    template_fields: Sequence[str] = ("killed", "restart")
    ui_color = "#d6eaf8"

    def __init__(self, *, killed: dict, restart: bool | str = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.killed = killed
        self.restart = restart

    def execute(self, context: Context) -> dict[str, Any]:
        from kafkalab.lab.stack.lifecycle import Stack

        service = self.killed["service"]
        if str(self.restart).lower() in ("false", "0", "no"):
            self.log.warning("leaving %s down (restart=%s)", service, self.restart)
            return {"service": service, "restarted": False, "restarted_at": None}
        requested_at = time.time()
        health = Stack(get_settings()).restart(service)
        self.log.info("%s is back: %s", service, health.detail)
        return {
            "service": service,
            "restarted": True,
            "restarted_at": requested_at,
            "healthy_after_seconds": round(time.time() - requested_at, 3),
            "detail": health.detail,
        }


CONDITION_TEXT: dict[str, str] = {
    "leaders_moved": "every partition led by an in-sync replica other than broker {broker}",
    "under_replicated": "under-replicated partitions (broker {broker} out of their ISR)",
    "fully_replicated": "every replica in sync again (broker {broker} back in every ISR)",
}


class PartitionStateSensor(DeferrableSensor):
    """Wait until ``topic``'s partitions meet ``condition`` about ``event['broker']``.

    ``event`` is the kill's result (``KillBusiestLeaderOperator``); the reported
    ``seconds_since`` counts from the kill. With ``max_seconds``, a condition met later
    than that after the kill fails the task as well: the bound is the drill's objective.
    """

    template_fields: Sequence[str] = ("topic", "event", "max_seconds", "timeout_seconds")

    def __init__(
        self,
        *,
        topic: str,
        condition: Condition,
        event: dict,
        max_seconds: float | str | None = None,
        kafka_config_id: str = LabKafkaHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("poll_interval", 0.5)
        # Waits of seconds, and their length is the drill's objective: polled in the
        # task. Deferred, a condition met soon after is what Airflow's resume race hits
        # (see DeferrableSensor), and a second try could only time it from later on.
        kwargs.setdefault("deferrable", False)
        super().__init__(**kwargs)
        self.topic = topic
        self.condition = condition
        self.event = event
        self.max_seconds = max_seconds
        self.kafka_config_id = kafka_config_id

    def trigger(self) -> PartitionStateTrigger:
        return PartitionStateTrigger(
            self.kafka_config_id,
            self.topic,
            self.condition,
            int(self.event["broker"]),
            float(self.event["killed_at"]),
            self.poll_interval,
            float(self.timeout_seconds),
        )

    def _wanted(self, event: dict[str, Any]) -> str:
        return CONDITION_TEXT[self.condition].format(broker=event["broker"])

    def failure_message(self, event: dict[str, Any]) -> str:
        states = [PartitionState.from_dict(p) for p in event["partitions"]]
        seen = describe(states) if states else f"no metadata ({event.get('last_error')})"
        return (
            f"{self.topic}: {self._wanted(event)} not seen within "
            f"{event['waited_seconds']:.0f}s ({event['seconds_since']:.0f}s after the kill); "
            f"last seen: {seen}"
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        event = super().execute_complete(context, event)
        bound = self.max_seconds
        if bound not in (None, "", "None") and event["seconds_since"] > float(bound):
            raise AirflowFailException(
                f"{self.topic}: {self._wanted(event)} took {event['seconds_since']:.1f}s after "
                f"the kill, more than the bound of {float(bound):.0f}s"
            )
        return event


class SparkSurvivedOperator(BaseOperator):
    """The streaming job that was started before the kill is the one running now."""

    template_fields: Sequence[str] = ("handle", "started")
    ui_color = "#d5f5e3"

    def __init__(self, *, handle: str, started: dict, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.handle = handle
        self.started = started

    def execute(self, context: Context) -> dict[str, Any]:
        from kafkalab.spark.jobs import StreamingJobs

        status = StreamingJobs(get_settings()).status(self.handle)
        started_pid = self.started.get("pid")
        if status.state != "running" or status.pid != started_pid:
            raise AirflowFailException(
                f"the Spark job {self.handle} did not survive the failover: started as pid "
                f"{started_pid}, now {status.state} (pid {status.pid}); its log: "
                f"{status.log_path}"
            )
        return {**status.to_dict(), "restarted": False}


class FailoverFiguresOperator(BaseOperator):
    """The drill's figures, and its check that the ingestor kept acknowledging.

    From the generator's own acknowledgements per second (``generator``), the kill, the
    election, the restart and the rejoin: election and rejoin times, the ingest dip.
    Fails when no event at all was acknowledged between the kill and the rejoin.
    """

    template_fields: Sequence[str] = ("generator", "killed", "elected", "restarted", "rejoined")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        generator: dict,
        killed: dict,
        elected: dict,
        restarted: dict,
        rejoined: dict,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.generator = generator
        self.killed = killed
        self.elected = elected
        self.restarted = restarted
        self.rejoined = rejoined

    def execute(self, context: Context) -> dict[str, Any]:
        killed_at = float(self.killed["killed_at"])
        restarted_at = float(self.restarted["restarted_at"])
        outage_to = killed_at + float(self.rejoined["seconds_since"])
        dip = ingest_dip(self.generator.get("acknowledged_per_second") or {}, killed_at, outage_to)
        figures = {
            "broker": self.killed["broker"],
            "led_partitions": self.killed["led_partitions"],
            "election_seconds": self.elected["seconds_since"],
            "broker_down_seconds": round(restarted_at - killed_at, 3),
            # From the restart request (the JVM's start-up included) to the last ISR full.
            "rejoin_seconds": round(outage_to - restarted_at, 3),
            "rejoin_seconds_since_kill": round(outage_to - killed_at, 3),
            "generator_retries": self.generator.get("retries"),
            "generator_unacknowledged": self.generator.get("unacknowledged"),
            "ingest": dip,
        }
        self.log.info("failover figures: %s", figures)
        if not dip["acknowledged_during_outage"]:
            raise AirflowFailException(
                "the ingestor acknowledged no event between the kill of broker "
                f"{self.killed['broker']} and its rejoin ({outage_to - killed_at:.0f}s): "
                "producers were stopped by the loss of one broker of three"
            )
        return figures


class EnsureBrokersUpOperator(BaseOperator):
    """Start every Kafka node of the lab's cluster that is not running (a teardown step)."""

    ui_color = "#d6eaf8"

    def execute(self, context: Context) -> dict[str, Any]:
        from kafkalab.lab.stack.kafka import kafka_nodes
        from kafkalab.lab.stack.lifecycle import Stack

        settings = get_settings()
        stack = Stack(settings)
        restarted = {}
        for node in kafka_nodes(settings):
            if stack.registry.running(node.service_name) is None:
                restarted[node.service_name] = stack.restart(node.service_name).detail
                self.log.warning(
                    "restarted %s: %s", node.service_name, restarted[node.service_name]
                )
        return {"restarted": restarted}


def reassign_replicas(
    topic: str, replicas: int, timeout: float = 300.0, kafka_config_id: str = "kafka_default"
) -> dict[str, Any]:
    """Give every partition of ``topic`` ``replicas`` replicas, with Kafka's own
    `kafka-reassign-partitions`, and wait until each has them, all in sync."""
    from kafkalab.domain.cluster import replica_plan

    settings = get_settings()
    with LabKafkaHook(kafka_config_id).lab_admin() as admin:
        plan = replica_plan(admin.partition_states(topic), replicas, admin.broker_ids())
        deadline = time.monotonic() + timeout
        # A partition whose broker is back (registered) leads again within seconds.
        offline = _offline_after(admin, topic, min(15.0, timeout))
        if offline:
            # Kafka 4 keeps a partition offline when its last in-sync replica went down
            # uncleanly (kill -9), also once that broker is back: none of its replicas is
            # eligible to lead. Here that replica is the only copy there is.
            log.warning(
                "%s: partitions %s stay offline; electing their leaders uncleanly", topic, offline
            )
            admin.elect_unclean_leaders(topic, offline)
        if plan:
            # A partition whose only replica was on a broker just restarted leads again a
            # moment later; a reassignment sent before that fails with an unknown error.
            for attempt in range(1, 4):
                _wait_until(
                    deadline, lambda: not any(s.offline for s in admin.partition_states(topic))
                )
                try:
                    _execute_reassignment(settings, admin.config["bootstrap.servers"], topic, plan)
                    break
                except RuntimeError:
                    if attempt == 3:
                        raise
                    time.sleep(5.0)
        # Also without a plan: a broker just restarted is back in every ISR before the
        # next run looks at the cluster.
        while True:
            states = admin.partition_states(topic)
            done = all(
                list(s.replicas) == plan.get(s.partition, list(s.replicas))
                and not s.under_replicated
                and not s.offline
                for s in states
            )
            if done:
                return {"topic": topic, "reassigned": {str(p): r for p, r in plan.items()}}
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{topic}: not {replicas} replicas in sync within {timeout:.0f}s: "
                    f"{describe(states)}"
                )
            time.sleep(1.0)


def _offline_after(admin: Any, topic: str, grace: float) -> list[int]:
    """The partitions of ``topic`` still without a leader after ``grace`` seconds."""
    deadline = time.monotonic() + grace
    while True:
        offline = [s.partition for s in admin.partition_states(topic) if s.offline]
        if not offline or time.monotonic() > deadline:
            return offline
        time.sleep(1.0)


def _wait_until(deadline: float, holds: Any) -> None:
    while not holds() and time.monotonic() < deadline:
        time.sleep(1.0)


def _execute_reassignment(
    settings: Any, bootstrap: str, topic: str, plan: dict[int, list[int]]
) -> None:
    import json
    import subprocess
    import tempfile

    from kafkalab.domain.cluster import reassignment_json
    from kafkalab.lab.stack.environment import child_environment
    from kafkalab.lab.stack.kafka import tool_command

    with tempfile.NamedTemporaryFile("w", suffix=".json") as document:
        json.dump(reassignment_json(topic, plan), document)
        document.flush()
        result = subprocess.run(
            tool_command(
                settings,
                "kafka-reassign-partitions",
                [
                    "--bootstrap-server",
                    bootstrap,
                    "--reassignment-json-file",
                    document.name,
                    "--execute",
                ],
            ),
            capture_output=True,
            text=True,
            env=child_environment(settings),
            timeout=120,
        )
    if result.returncode != 0:
        raise RuntimeError(f"kafka-reassign-partitions failed: {result.stderr or result.stdout}")


class RestoreReplicationOperator(BaseOperator):
    """Give ``topic`` the cluster's replication factor back (a teardown step after the
    ``replication_factor_1`` fault); nothing to do when it has it."""

    template_fields: Sequence[str] = ("topic",)
    ui_color = "#d6eaf8"

    def __init__(self, *, topic: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.topic = topic

    def execute(self, context: Context) -> dict[str, Any]:
        return reassign_replicas(self.topic, get_settings().kafka_replication_factor)
