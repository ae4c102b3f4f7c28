"""
## kafkalab building blocks (example)

One task per building block, wired on a topic of its own, so each can be tried alone:

```bash
./lab airflow tasks test kafkalab_building_blocks ensure_topic
./lab airflow tasks test kafkalab_building_blocks describe_topic
./lab airflow tasks test kafkalab_building_blocks spark_group_lag
./lab airflow dags test kafkalab_building_blocks        # all of them, in order
```

`airflow tasks test` runs one task without its upstream tasks, so tasks that read an
upstream XCom (reconcile, compare) need a `dags test` run first, or show the error
they would give. The exercises (`kafka_*` DAGs) are built from the same blocks.
"""

from __future__ import annotations

import datetime as dt

from kafkalab.exercise import Report, lab_dag, lake_path
from kafkalab.operators.consumer_group import ConsumerGroupRunOperator
from kafkalab.operators.delta import DeltaReconcileOperator
from kafkalab.operators.generator import GeneratorRunOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator, SnapshotGroupOffsetsOperator
from kafkalab.operators.spark import SparkStreamingJobOperator
from kafkalab.operators.topics import (
    AlterTopicConfigOperator,
    DescribeTopicOperator,
    EnsureTopicOperator,
)
from kafkalab.sensors.delta import DeltaTableSensor
from kafkalab.sensors.lag import ConsumerLagSensor

TOPIC = "kafkalab_building_blocks"
OUTPUT = lake_path("examples", "building_blocks")
SPARK_GROUP = "spark-building-blocks"


@lab_dag(
    dag_id="kafkalab_building_blocks",
    doc_md=__doc__,
    tags=["example"],
    execution_timeout=dt.timedelta(minutes=10),
)
def kafkalab_building_blocks() -> Report:
    ensure = EnsureTopicOperator(
        task_id="ensure_topic", topic=TOPIC, partitions=3, configs={"retention.ms": "86400000"}
    )
    retention = AlterTopicConfigOperator(
        task_id="alter_retention", topic=TOPIC, configs={"retention.ms": "172800000"}
    )
    describe = DescribeTopicOperator(task_id="describe_topic", topic=TOPIC)
    before = SnapshotEndOffsetsOperator(task_id="offsets_before", topics=[TOPIC])
    load = GeneratorRunOperator(
        task_id="generate",
        run_id="blocks-{{ run_id | slug }}",
        count=500,
        target="kafka",
        topics={"financial": TOPIC},
        financial_share=1.0,
    )
    after = SnapshotEndOffsetsOperator(task_id="offsets_after", topics=[TOPIC])
    spark = SparkStreamingJobOperator(
        task_id="spark_available_now",
        topic=TOPIC,
        output_path=OUTPUT,
        stream="financial",
        consumer_group=SPARK_GROUP,
    )
    landed = DeltaTableSensor(task_id="delta_has_rows", path=OUTPUT, min_rows=1)
    lag = ConsumerLagSensor(
        task_id="spark_group_lag",
        group=SPARK_GROUP,
        topics=[TOPIC],
        mode="drains_to",
        threshold=0,
        timeout_seconds=120,
    )
    group = SnapshotGroupOffsetsOperator(
        task_id="spark_group_offsets", group=SPARK_GROUP, topics=[TOPIC]
    )
    reconcile = DeltaReconcileOperator(
        task_id="reconcile",
        path=OUTPUT,
        topic=TOPIC,
        to_offsets=after.output,
        id_column="transaction_id",
    )
    reader = ConsumerGroupRunOperator(
        task_id="consumer_group_run",
        group="building-blocks-reader",
        topic=TOPIC,
        until=after.output,
    )
    ensure >> retention >> describe >> before >> load >> after >> spark >> landed >> lag
    lag >> group >> reconcile >> reader
    return Report(
        title="kafkalab building blocks",
        figures={"reconcile": reconcile, "reader": reader},
        lag_series={"spark": lag},
    )


kafkalab_building_blocks()
