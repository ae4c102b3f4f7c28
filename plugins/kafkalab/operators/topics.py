"""Topic operators: ensure, describe, alter partitions, alter configs. Results go to XCom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException
from confluent_kafka import KafkaException
from confluent_kafka.admin import NewPartitions

from kafkalab.domain.topics import TopicSpec
from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.kafka.admin import KafkaAdmin, PartitionDecreaseRefused, UnknownTopic


class _TopicOperator(BaseOperator):
    template_fields: Sequence[str] = ("topic",)
    ui_color = "#fdf2e9"

    def __init__(
        self, *, topic: str, kafka_config_id: str = LabKafkaHook.default_conn_name, **kwargs: Any
    ):
        super().__init__(**kwargs)
        self.topic = topic
        self.kafka_config_id = kafka_config_id

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            with LabKafkaHook(self.kafka_config_id).lab_admin() as admin:
                return self.run(admin, context)
        except (UnknownTopic, PartitionDecreaseRefused) as exc:
            # A misconfigured exercise: retrying cannot help.
            raise AirflowFailException(str(exc)) from exc

    def run(self, admin: KafkaAdmin, context: Context) -> dict[str, Any]:
        raise NotImplementedError


class EnsureTopicOperator(_TopicOperator):
    """Create the topic if it does not exist (idempotent); an existing one is left as is."""

    template_fields: Sequence[str] = ("topic", "partitions", "configs")

    def __init__(
        self,
        *,
        partitions: int | str,
        replication_factor: int | None = None,
        configs: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.configs = configs or {}

    def run(self, admin: KafkaAdmin, context: Context) -> dict[str, Any]:
        spec = TopicSpec(
            self.topic,
            int(self.partitions),
            self.replication_factor,
            {k: str(v) for k, v in self.configs.items()},
        )
        outcome = admin.ensure_topic(spec)
        self.log.info("topic %s: %s", self.topic, outcome)
        return {**admin.describe_topic(self.topic).to_dict(), "outcome": outcome}


class DescribeTopicOperator(_TopicOperator):
    """Partitions, replication factor and non-default configs, as `kafka-topics --describe`."""

    template_fields: Sequence[str] = ("topic", "expected_partitions")

    def __init__(self, *, expected_partitions: int | str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.expected_partitions = expected_partitions

    def run(self, admin: KafkaAdmin, context: Context) -> dict[str, Any]:
        description = admin.describe_topic(self.topic).to_dict()
        self.log.info("topic %s: %s", self.topic, description)
        expected = self.expected_partitions
        if expected not in (None, "", "None") and description["partitions"] != int(expected):
            raise AirflowFailException(
                f"topic {self.topic} has {description['partitions']} partitions, expected "
                f"{expected}. Was the partition change applied "
                f"(`./lab kafka kafka-topics --describe --topic {self.topic}`)?"
            )
        return description


def increase_problem(topic: str, before: int, after: int, target: int) -> str | None:
    """What is wrong with a partition increase from ``before`` to ``target``, or None.

    An increase happened only if the count was below the target before and is the
    target after, both as Kafka reports them: a topic that already had the target (or
    more) did not grow, and must not pass as having grown.
    """
    if before >= target:
        return (
            f"topic {topic} already had {before} partitions before the change, and the "
            f"target is {target}: nothing was increased, so this run cannot show an "
            "increase. Start from a topic with fewer partitions (leave the `topic` param "
            "empty for a fresh copy of the lab topic)."
        )
    if after != target:
        return (
            f"topic {topic} went from {before} to {after} partitions, expected {target}. "
            f"Look at `./lab kafka kafka-topics --describe --topic {topic}` and the "
            "broker's log."
        )
    return None


def refusal_problem(
    topic: str, before: int, requested: int, after: int, error: tuple[str, str] | None
) -> str | None:
    """What is wrong with a decrease refusal, or None when Kafka itself refused it.

    ``error`` is the (name, message) Kafka answered ``CreatePartitions`` with, None when
    it accepted. The refusal must be Kafka's partition rule (``INVALID_PARTITIONS``) for
    a real decrease, and the count must not have moved.
    """
    if requested >= before:
        return (
            f"asking for {requested} partitions of {topic}, which has {before}, is not a "
            "decrease: there is nothing for Kafka to refuse. Was the partition increase "
            "applied?"
        )
    if error is None:
        return (
            f"Kafka accepted {requested} partitions for {topic} (it had {before}, now "
            f"{after}); expected it to refuse a decrease"
        )
    name, message = error
    if name != "INVALID_PARTITIONS":
        return (
            f"Kafka answered the decrease of {topic} to {requested} partitions with {name} "
            f"({message}), not INVALID_PARTITIONS: the request failed for another reason "
            "than the partition rule"
        )
    if after != before:
        return (
            f"Kafka refused the decrease of {topic} ({message}), yet the topic went from "
            f"{before} to {after} partitions"
        )
    return None


class AlterTopicPartitionsOperator(_TopicOperator):
    """Increase the partition count, and prove it grew: fewer partitions before than after.

    With ``expect_refusal`` the task demonstrates Kafka's rule instead: it sends Kafka
    the (lower) count with ``CreatePartitions`` and succeeds only when Kafka itself
    refuses it with ``INVALID_PARTITIONS``, returning Kafka's own message.
    """

    template_fields: Sequence[str] = ("topic", "partitions")

    def __init__(
        self, *, partitions: int | str, expect_refusal: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.partitions = partitions
        self.expect_refusal = expect_refusal

    def run(self, admin: KafkaAdmin, context: Context) -> dict[str, Any]:
        target = int(self.partitions)
        before = len(admin.topic_partitions(self.topic))
        if self.expect_refusal:
            return self._ask_kafka_for_a_decrease(admin, before, target)
        # Checked before asking: Kafka would answer "already has N partitions" to an
        # equal count, which must not read as an increase either.
        if before >= target:
            raise AirflowFailException(increase_problem(self.topic, before, before, target))
        outcome = admin.alter_partitions(self.topic, target)
        after = len(admin.topic_partitions(self.topic))
        problem = increase_problem(self.topic, before, after, target)
        if problem:
            raise AirflowFailException(problem)
        self.log.info("topic %s: %s", self.topic, outcome)
        return {"topic": self.topic, "before": before, "after": after, "outcome": outcome}

    def _ask_kafka_for_a_decrease(
        self, admin: KafkaAdmin, before: int, requested: int
    ) -> dict[str, Any]:
        if requested >= before:
            raise AirflowFailException(refusal_problem(self.topic, before, requested, before, None))
        error: tuple[str, str] | None = None
        try:
            # The raw admin call, not the lab's alter_partitions: that one refuses a
            # decrease itself, and the point is to hear it from the broker.
            admin.admin.create_partitions(
                [NewPartitions(self.topic, requested)], request_timeout=admin.timeout
            )[self.topic].result()
        except KafkaException as exc:
            kafka_error = exc.args[0]
            error = (kafka_error.name(), kafka_error.str())
        after = len(admin.topic_partitions(self.topic))
        problem = refusal_problem(self.topic, before, requested, after, error)
        if problem or error is None:
            raise AirflowFailException(problem)
        self.log.info("Kafka refused %s partitions for %s: %s", requested, self.topic, error)
        return {
            "topic": self.topic,
            "partitions": before,
            "requested": requested,
            "refused_by": "kafka",
            "error": error[0],
            "refused": error[1],
        }


class AlterTopicConfigOperator(_TopicOperator):
    """Set topic configs (e.g. ``retention.ms``) incrementally; returns the non-defaults."""

    template_fields: Sequence[str] = ("topic", "configs")

    def __init__(self, *, configs: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.configs = configs

    def run(self, admin: KafkaAdmin, context: Context) -> dict[str, Any]:
        configs = admin.alter_configs(self.topic, {k: str(v) for k, v in self.configs.items()})
        self.log.info("topic %s configs now: %s", self.topic, configs)
        return {"topic": self.topic, "configs": configs}
