"""
## Advanced use case 1: real-time fan-out to multiple consumer groups

**Objective.** Show Kafka delivering the same stream to several independent consumer
groups without one affecting another's progress.

**Role in the platform.** One canonical stream feeds real-time dashboards, fraud
detection and audit side by side.

**Steps.**
1. The generator runs in the background; the Spark streaming job consumes
   `raw_financial_transactions` into a Delta table and commits its progress to its
   own group, so its lag is visible (as in Grafana's lag panel).
2. Once Spark has caught up, a target is noted (the topics' end offsets) and two new
   groups consume from the beginning up to it, as the lab guide's console consumers:
   `real-time-dashboard-financial` on transactions, `audit-log-insurance` on claims.
   A reference reader does the same, as the log's own witness.
3. While they run, a sensor watches the Spark group's lag.

**Verified.**
- *All consumers receive the data:* each new group's committed offsets reached the
  target (Kafka's record, not the consumer's claim).
- *Independent progress:* the Spark group's lag stayed at most `lag_threshold` for
  `hold_seconds` while the new groups ran.
- *Data consistency:* within every partition, the dashboard group, the Spark job
  (its Delta table) and the reference reader saw the same sequence of offsets and
  event ids; the audit group and the reference reader likewise on claims.

**Params.** `rate`, `lag_threshold`, `hold_seconds`, `timeout_seconds`, and `fault`:
`freeze_spark` (the Spark job hangs while the groups run) or `consumer_stopped_early`
(the dashboard group commits only half of the range).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, TaskGroup

from kafkalab.domain.topics import load_topic_specs
from kafkalab.exercise import (
    ComputedValue,
    Report,
    exercise_dag,
    fault_task,
    lake_path,
    live_stream,
    one_task_per_topic,
    records_between,
    setup_group,
)
from kafkalab.operators.checks import CompareSequencesOperator, GroupsCaughtUpOperator
from kafkalab.operators.consumer_group import ConsumerGroupRunOperator
from kafkalab.operators.delta import DeltaReconcileOperator
from kafkalab.operators.faults import freeze_streaming_job, rewind_group
from kafkalab.operators.generator import StopGeneratorOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator
from kafkalab.operators.spark import StopStreamingJobOperator
from kafkalab.sensors.delta import DeltaTableSensor
from kafkalab.sensors.lag import ConsumerLagSensor

TOPICS = load_topic_specs()
TRANSACTIONS, CLAIMS = "raw_financial_transactions", "raw_insurance_claims"
DASHBOARD, AUDIT = "real-time-dashboard-financial", "audit-log-insurance"


@exercise_dag(
    dag_id="kafka_fanout_consumer_groups",
    doc_md=__doc__,
    tags=["fan-out"],
    execution_timeout=dt.timedelta(minutes=20),
    params={
        "rate": Param(200, type="number", minimum=1, description="generator events/s"),
        "lag_threshold": Param(
            1000, type="integer", minimum=0, description="most records the Spark group may lag"
        ),
        "hold_seconds": Param(
            30, type="integer", minimum=0, description="how long the Spark lag must stay low"
        ),
    },
    timeout_seconds=300,
    faults=["freeze_spark", "consumer_stopped_early"],
)
def kafka_fanout_consumer_groups() -> Report:
    run = "{{ run_id | slug }}"
    spark_group = f"spark-fanout-{run}"
    handle = f"fanout-{run}"
    output = lake_path("exercises", "fanout", run, "financial")
    timeout = "{{ params.timeout_seconds }}"

    setup = setup_group(one_task_per_topic(TOPICS))

    with TaskGroup("stream") as stream:
        streaming = live_stream(
            offsets_of=[TRANSACTIONS, CLAIMS],
            generator_run=f"fanout-{run}",
            topic=TRANSACTIONS,
            handle=handle,
            output_path=output,
            group=spark_group,
            caught_up_within="{{ params.lag_threshold }}",
            timeout=timeout,
        )
        start = streaming.start

    with TaskGroup("fan_out") as fan_out:
        target = SnapshotEndOffsetsOperator(task_id="offsets_target", topics=[TRANSACTIONS, CLAIMS])
        freeze = fault_task("freeze_spark", freeze_streaming_job, handle=handle)
        # The lab guide's console consumers: from the beginning up to the target.
        dashboard, audit = (
            ConsumerGroupRunOperator(
                task_id=task_id,
                group=group,
                topic=topic,
                until=target.output,
                window_start=start.output,
            )
            for task_id, group, topic in (
                ("dashboard_group", DASHBOARD, TRANSACTIONS),
                ("audit_group", AUDIT, CLAIMS),
            )
        )
        reference = {
            topic: ConsumerGroupRunOperator(
                task_id=f"reference_{topic}",
                group=f"kafkalab-reference-{run}",
                topic=topic,
                until=target.output,
                # The witness reads just the compared window; the groups read it all.
                window_start=start.output,
                from_beginning=False,
            )
            for topic in (TRANSACTIONS, CLAIMS)
        }
        independent = ConsumerLagSensor(
            task_id="spark_lag_stays_low",
            group=spark_group,
            topics=[TRANSACTIONS],
            mode="at_most",
            threshold="{{ params.lag_threshold }}",
            hold_for="{{ params.hold_seconds }}",
            timeout_seconds=timeout,
            # The freeze fault skips itself unless selected: that skip must not skip the
            # check, while a failure upstream still stops it.
            trigger_rule="none_failed",
        )
        target >> [dashboard, audit, *reference.values()]
        target >> freeze >> independent

    with TaskGroup("verify") as verify:
        # Here, not in fan_out: a fault task that ends a group would hand its skip to
        # every first task of the next group.
        stopped_early = fault_task(
            "consumer_stopped_early",
            rewind_group,
            group=DASHBOARD,
            topic=TRANSACTIONS,
            target=target.output,
        )
        landed = DeltaTableSensor(
            task_id="spark_reached_target",
            path=output,
            timeout_seconds=timeout,
            min_rows=ComputedValue(
                records_between, start.output, target.output, topic=TRANSACTIONS
            ),
        )
        spark_view = DeltaReconcileOperator(
            task_id="spark_exactly_once",
            path=output,
            topic=TRANSACTIONS,
            from_offsets=start.output,
            to_offsets=target.output,
            id_column="transaction_id",
            # Spark keeps streaming past the target: its later rows are not strays.
            later_records_allowed=True,
        )
        caught_up = GroupsCaughtUpOperator(
            task_id="groups_received_everything",
            groups={DASHBOARD: TRANSACTIONS, AUDIT: CLAIMS},
            target=target.output,
            trigger_rule="none_failed",  # after the fault task, as spark_lag_stays_low
        )
        same_transactions = CompareSequencesOperator(
            task_id="same_sequence_transactions",
            topic=TRANSACTIONS,
            sequences={
                "reference": reference[TRANSACTIONS].output,
                DASHBOARD: dashboard.output,
                "spark (Delta)": spark_view.output,
            },
        )
        same_claims = CompareSequencesOperator(
            task_id="same_sequence_claims",
            topic=CLAIMS,
            sequences={"reference": reference[CLAIMS].output, AUDIT: audit.output},
        )
        landed >> spark_view >> same_transactions
        stopped_early >> caught_up

    with TaskGroup("teardown") as teardown:
        stop_generator = StopGeneratorOperator(
            task_id="stop_generator", run_id=f"fanout-{run}", trigger_rule="all_done"
        )
        stop_spark = StopStreamingJobOperator(
            task_id="stop_spark", handle=handle, trigger_rule="all_done"
        )

    setup.group >> stream >> fan_out >> verify >> teardown
    return Report(
        title="Kafka fan-out to independent consumer groups",
        figures={
            "dashboard": dashboard,
            "audit": audit,
            "spark_delta": spark_view,
            "groups": caught_up,
            "transactions": same_transactions,
            "claims": same_claims,
            "generator": stop_generator,
            "spark_job": stop_spark,
        },
        lag_series={
            "spark lag (catching up)": streaming.caught_up,
            "spark lag (groups running)": independent,
        },
    )


kafka_fanout_consumer_groups()
