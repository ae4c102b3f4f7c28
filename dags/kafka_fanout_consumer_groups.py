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
2. Once Spark has caught up, its lag is sampled for `hold_seconds` as a baseline. The
   generator's acknowledged events are noted, then a target (the topics' end offsets).
3. The new groups consume from the beginning, as the lab guide's console consumers:
   `real-time-dashboard-financial` on transactions reads only up to halfway through
   the compared window and stops (it commits where it got to and leaves). While it is
   stopped, `audit-log-insurance` on claims and a reference reader per topic read up to
   the target. Then the dashboard resumes from its committed offsets, reaches the
   target and stays attached as a live consumer for `hold_seconds`. Every read samples
   the Spark group's lag about once a second, from its first record to its last.
4. The generator is stopped: its final counts are the acknowledged events.

**Verified.**
- *Independent progress:* every Spark-lag sample taken inside any new group's reading
  window is at most the baseline's median + `lag_threshold`, and every window has
  samples (baseline and window max/median are reported). Relative to the baseline: a
  streaming job's committed lag is a sawtooth whose teeth (a micro-batch's worth of
  records) depend on the machine; the new groups must not lift it further.
- *One group stopped, the others go on:* while the dashboard was stopped, Kafka's
  committed offsets kept it at its stop point and showed the audit group and the
  reference readers at the target.
- *All consumers receive the data:* each new group's committed offsets reached the
  target. Every read commits the position it actually reached (Kafka's record, not the
  consumer's claim).
- *Data consistency:* within every partition of the window (from the run's start to
  the target), the dashboard group (its two reads together), the Spark job (its Delta
  table) and the reference reader saw the same sequence of offsets and event ids; the
  audit group and the reference reader likewise on claims. Each group's ids are also
  compared with the generator's: every event acknowledged before the target is in the
  window exactly once, and every id there was acknowledged by the run.

**Params.** `rate`, `lag_threshold` (Spark's lag once caught up, and how far above
its baseline median it may rise while the groups read), `hold_seconds` (the baseline's
length and the live tail after the last read), `timeout_seconds`, and `fault`: `freeze_spark` (the
Spark job hangs before the groups read: its lag passes the threshold inside their
reading windows) or `consumer_stopped_early` (the dashboard's resumed read really stops
halfway to the target: its committed offsets fall short).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, TaskGroup

from kafkalab.domain.topics import load_topic_specs
from kafkalab.exercise import (
    AFTER_FAULT,
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
from kafkalab.operators.checks import (
    AcknowledgedSoFarOperator,
    CompareSequencesOperator,
    GroupsCaughtUpOperator,
    LagWhileReadingOperator,
    StoppedGroupOperator,
)
from kafkalab.operators.consumer_group import ConsumerGroupRunOperator, halfway
from kafkalab.operators.delta import DeltaReconcileOperator
from kafkalab.operators.faults import freeze_streaming_job, stop_consumer_early
from kafkalab.operators.generator import StopGeneratorOperator
from kafkalab.operators.lag_sampling import ConsumerLagSamplingOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator
from kafkalab.operators.spark import StopStreamingJobOperator
from kafkalab.sensors.delta import DeltaTableSensor

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
            1000,
            type="integer",
            minimum=0,
            description="most records the Spark group may lag once caught up, and may rise "
            "above its baseline median while the new groups read",
        ),
        "hold_seconds": Param(
            30,
            type="integer",
            minimum=0,
            description="seconds of baseline lag sampling, and of the live tail after the "
            "last read",
        ),
    },
    timeout_seconds=300,
    faults=["freeze_spark", "consumer_stopped_early"],
)
def kafka_fanout_consumer_groups() -> Report:
    run = "{{ run_id | slug }}"
    spark_group = f"spark-fanout-{run}"
    handle = f"fanout-{run}"
    generator_run = f"fanout-{run}"
    output = lake_path("exercises", "fanout", run, "financial")
    timeout = "{{ params.timeout_seconds }}"

    setup = setup_group(one_task_per_topic(TOPICS))

    with TaskGroup("stream") as stream:
        streaming = live_stream(
            offsets_of=[TRANSACTIONS, CLAIMS],
            generator_run=generator_run,
            topic=TRANSACTIONS,
            handle=handle,
            output_path=output,
            group=spark_group,
            caught_up_within="{{ params.lag_threshold }}",
            timeout=timeout,
        )
        start = streaming.start

    with TaskGroup("fan_out") as fan_out:
        baseline = ConsumerLagSamplingOperator(
            task_id="spark_lag_baseline",
            group=spark_group,
            topics=[TRANSACTIONS],
            duration="{{ params.hold_seconds }}",
        )
        # Just before the target: every event acknowledged by now is inside the window.
        acknowledged = AcknowledgedSoFarOperator(
            task_id="acknowledged_at_target", run_id=generator_run
        )
        target = SnapshotEndOffsetsOperator(task_id="offsets_target", topics=[TRANSACTIONS, CLAIMS])
        freeze = fault_task("freeze_spark", freeze_streaming_job, handle=handle)
        # Every read samples the Spark group's lag while it reads, and keeps its window's
        # (offset, id) pairs for the checks.
        reading = {"watch_group": spark_group, "watch_topics": [TRANSACTIONS], "keep_records": True}
        stop_point = ComputedValue(halfway, start.output, target.output, topic=TRANSACTIONS)
        # The lab guide's console consumers: from the beginning. The dashboard stops
        # halfway through the window; the others read on to the target meanwhile.
        dashboard_half = ConsumerGroupRunOperator(
            task_id="dashboard_reads_half",
            group=DASHBOARD,
            topic=TRANSACTIONS,
            until=stop_point,
            window_start=start.output,
            trigger_rule=AFTER_FAULT,  # the freeze fault
            **reading,
        )
        audit = ConsumerGroupRunOperator(
            task_id="audit_group",
            group=AUDIT,
            topic=CLAIMS,
            until=target.output,
            window_start=start.output,
            **reading,
        )
        reference_groups = {
            topic: f"kafkalab-reference-{topic}-{run}" for topic in (TRANSACTIONS, CLAIMS)
        }
        reference = {
            topic: ConsumerGroupRunOperator(
                task_id=f"reference_{topic}",
                group=reference_groups[topic],
                topic=topic,
                until=target.output,
                # The witness reads just the compared window; the groups read it all.
                window_start=start.output,
                from_beginning=False,
                **reading,
            )
            for topic in (TRANSACTIONS, CLAIMS)
        }
        stopped = StoppedGroupOperator(
            task_id="dashboard_stopped_others_finished",
            group=DASHBOARD,
            topic=TRANSACTIONS,
            stop_at=stop_point,
            others=[(AUDIT, CLAIMS), *((g, t) for t, g in reference_groups.items())],
            target=target.output,
        )
        stopped_early = fault_task(
            "consumer_stopped_early",
            stop_consumer_early,
            group=DASHBOARD,
            topic=TRANSACTIONS,
            target=target.output,
        )
        dashboard_resumed = ConsumerGroupRunOperator(
            task_id="dashboard_resumes",
            group=DASHBOARD,
            topic=TRANSACTIONS,
            until=target.output,
            window_start=start.output,
            resume=True,
            # The fault's stop point when it was selected; None (read on) otherwise.
            stop_at=stopped_early.output,
            # Attached after the target as a live consumer: the last window is long
            # enough for a Spark job that stopped keeping up to show it.
            follow_seconds="{{ params.hold_seconds }}",
            trigger_rule=AFTER_FAULT,
            **reading,
        )
        stop_generator_run = StopGeneratorOperator(task_id="stop_generator", run_id=generator_run)
        baseline >> acknowledged >> target >> freeze >> dashboard_half
        dashboard_half >> [audit, *reference.values()] >> stopped >> stopped_early
        stopped_early >> dashboard_resumed >> stop_generator_run

    with TaskGroup("verify") as verify:
        independent = LagWhileReadingOperator(
            task_id="spark_lag_stays_low",
            group=spark_group,
            threshold="{{ params.lag_threshold }}",
            baseline=baseline.output,
            readings={
                f"{DASHBOARD} (first half)": dashboard_half.output,
                AUDIT: audit.output,
                **{f"reference reader of {t}": r.output for t, r in reference.items()},
                f"{DASHBOARD} (resumed, then live)": dashboard_resumed.output,
            },
        )
        # After the lag check: a Spark job that fell behind has not reached the target.
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
        )
        acknowledged_ids = {
            "acknowledged_at_target": acknowledged.output,
            "acknowledged": stop_generator_run.output,
        }
        same_transactions = CompareSequencesOperator(
            task_id="same_sequence_transactions",
            topic=TRANSACTIONS,
            sequences={
                "reference": reference[TRANSACTIONS].output,
                DASHBOARD: [dashboard_half.output, dashboard_resumed.output],
                "spark (Delta)": spark_view.output,
            },
            **acknowledged_ids,
        )
        same_claims = CompareSequencesOperator(
            task_id="same_sequence_claims",
            topic=CLAIMS,
            sequences={"reference": reference[CLAIMS].output, AUDIT: audit.output},
            **acknowledged_ids,
        )
        independent >> landed >> spark_view >> same_transactions

    with TaskGroup("teardown") as teardown:
        # Already stopped after the reads; here it is stopped whatever happened.
        StopGeneratorOperator(
            task_id="stop_generator", run_id=generator_run, trigger_rule="all_done"
        )
        stop_spark = StopStreamingJobOperator(
            task_id="stop_spark", handle=handle, trigger_rule="all_done"
        )

    setup.group >> stream >> fan_out >> verify >> teardown
    return Report(
        title="Kafka fan-out to independent consumer groups",
        figures={
            "spark_lag": independent,
            "stopped_group": stopped,
            "spark_delta": spark_view,
            "groups": caught_up,
            "transactions": same_transactions,
            "claims": same_claims,
            "generator": stop_generator_run,
            "spark_job": stop_spark,
        },
        lag_series={
            "spark lag (catching up)": streaming.caught_up,
            "spark lag (baseline)": baseline,
            "spark lag (groups reading)": independent,
        },
        headline={
            "events acknowledged": ("generator.acknowledged", "events"),
            "Spark lag before the groups read (median)": ("spark_lag.baseline.median", "records"),
            "Spark lag while the groups read (max)": ("spark_lag.while_reading.max", "records"),
            "lag allowed above that median": ("spark_lag.threshold", "records"),
            "transactions compared by id": ("transactions.acknowledged_before_target", "events"),
            "claims compared by id": ("claims.acknowledged_before_target", "events"),
            "transactions in Spark's Delta table": ("spark_delta.present", "records"),
        },
    )


kafka_fanout_consumer_groups()
