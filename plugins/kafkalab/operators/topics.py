"""Topic operators: ensure, describe, alter partitions, alter configs. Results go to XCom."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context
from airflow.sdk.exceptions import AirflowFailException

from kafkalab.hooks.kafka import LabKafkaHook
from kafkalab.kafka_admin import PartitionDecreaseRefused, UnknownTopic
from kafkalab.topics import TopicSpec


class _TopicOperator(BaseOperator):
    template_fields: Sequence[str] = ("topic",)
    ui_color = "#fdf2e9"

    def __init__(self, *, topic: str, kafka_config_id: str = "kafka_default", **kwargs: Any):
        super().__init__(**kwargs)
        self.topic = topic
        self.kafka_config_id = kafka_config_id

    def admin(self):
        return LabKafkaHook(self.kafka_config_id).lab_admin()

    def execute(self, context: Context) -> dict[str, Any]:
        try:
            return self.run(context)
        except (UnknownTopic, PartitionDecreaseRefused) as exc:
            # A misconfigured exercise: retrying cannot help.
            raise AirflowFailException(str(exc)) from exc

    def run(self, context: Context) -> dict[str, Any]:
        raise NotImplementedError


class EnsureTopicOperator(_TopicOperator):
    """Create the topic if it does not exist (idempotent); an existing one is left as is."""

    template_fields: Sequence[str] = ("topic", "partitions", "configs")

    def __init__(
        self,
        *,
        partitions: int | str,
        replication_factor: int = 1,
        configs: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.partitions = partitions
        self.replication_factor = replication_factor
        self.configs = configs or {}

    def run(self, context: Context) -> dict[str, Any]:
        admin = self.admin()
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

    def run(self, context: Context) -> dict[str, Any]:
        description = self.admin().describe_topic(self.topic).to_dict()
        self.log.info("topic %s: %s", self.topic, description)
        expected = self.expected_partitions
        if expected not in (None, "", "None") and description["partitions"] != int(expected):
            raise AirflowFailException(
                f"topic {self.topic} has {description['partitions']} partitions, expected "
                f"{expected}. Was the partition change applied "
                f"(`./lab kafka kafka-topics --describe --topic {self.topic}`)?"
            )
        return description


class AlterTopicPartitionsOperator(_TopicOperator):
    """Increase the partition count; a decrease fails with Kafka's rule spelled out.

    With ``expect_refusal`` the task demonstrates that rule: it succeeds only when Kafka
    refuses the change, and fails if the change went through.
    """

    template_fields: Sequence[str] = ("topic", "partitions")

    def __init__(
        self, *, partitions: int | str, expect_refusal: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.partitions = partitions
        self.expect_refusal = expect_refusal

    def run(self, context: Context) -> dict[str, Any]:
        admin = self.admin()
        before = len(admin.topic_partitions(self.topic))
        if self.expect_refusal:
            try:
                outcome = admin.alter_partitions(self.topic, int(self.partitions))
            except PartitionDecreaseRefused as refusal:
                self.log.info("refused, as expected: %s", refusal)
                return {"topic": self.topic, "partitions": before, "refused": str(refusal)}
            raise AirflowFailException(
                f"expected Kafka to refuse {self.partitions} partitions for {self.topic} "
                f"(it had {before}), but the change went through: {outcome}"
            )
        outcome = admin.alter_partitions(self.topic, int(self.partitions))
        self.log.info("topic %s: %s", self.topic, outcome)
        return {
            "topic": self.topic,
            "before": before,
            "after": int(self.partitions),
            "outcome": outcome,
        }


class AlterTopicConfigOperator(_TopicOperator):
    """Set topic configs (e.g. ``retention.ms``) incrementally; returns the non-defaults."""

    template_fields: Sequence[str] = ("topic", "configs")

    def __init__(self, *, configs: dict[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.configs = configs

    def run(self, context: Context) -> dict[str, Any]:
        configs = self.admin().alter_configs(
            self.topic, {k: str(v) for k, v in self.configs.items()}
        )
        self.log.info("topic %s configs now: %s", self.topic, configs)
        return {"topic": self.topic, "configs": configs}
