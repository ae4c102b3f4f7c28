"""
## Basic use case: high-throughput decoupled data ingestion

**Objective.** Show Kafka receiving high volumes of disparate data — financial
transactions and insurance claims — from the FastAPI ingestor and holding it durably
for asynchronous consumption.

**Role in the platform.** The central streaming hub: it decouples producers from
consumers, so a slow consumer never pushes back on the ingestor.

**Steps.**
1. The topics `raw_financial_transactions` and `raw_insurance_claims` exist with their
   configured partitions (created if missing; existing ones keep their data).
2. The ingestor is healthy and reaches Kafka.
3. The generator (`simulate_data.py`) sends a bounded run to both endpoints.
4. A sensor waits until both topics' end offsets advanced by what the generator
   reports as acknowledged.
5. The run's records are read back — what `kafka-console-consumer --from-beginning`
   shows in the lab guide — and checked.

**Verified.** Every acknowledged event is in its topic exactly once; every record of
the run passes the event schema; a sample is in the report.

**Params.** `events`, `batch_size` (1 = the lab guide's single-event endpoints),
`rate` (events/s, empty = as fast as possible), `timeout_seconds`, and `fault`
(`duplicate_records` publishes copies of some records, to watch the check fail).
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, TaskGroup

from kafkalab.domain.topics import load_topic_specs
from kafkalab.exercise import (
    AFTER_FAULT,
    Report,
    exercise_dag,
    fault_task,
    one_task_per_topic,
    setup_group,
)
from kafkalab.operators.checks import VerifyGeneratorRunOperator
from kafkalab.operators.faults import duplicate_records
from kafkalab.operators.generator import GeneratorRunOperator
from kafkalab.operators.offsets import SnapshotEndOffsetsOperator
from kafkalab.sensors.offsets import EndOffsetsAdvancedSensor

TOPICS = load_topic_specs()
TOPIC_NAMES = [spec.name for spec in TOPICS]


@exercise_dag(
    dag_id="kafka_ingest_basic",
    doc_md=__doc__,
    tags=["ingest"],
    execution_timeout=dt.timedelta(minutes=15),
    retries=1,
    retry_delay=dt.timedelta(seconds=10),
    params={
        "events": Param(2000, type="integer", minimum=1, description="events in the run"),
        "batch_size": Param(
            50, type="integer", minimum=1, maximum=5000, description="1 = single-event endpoints"
        ),
        "rate": Param(None, type=["null", "number"], description="events/s; empty = max"),
    },
    timeout_seconds=300,
    faults=["duplicate_records"],
)
def kafka_ingest_basic() -> Report:
    run = "ingest-{{ run_id | slug }}"

    setup = setup_group(one_task_per_topic(TOPICS))
    with setup.group:
        before = SnapshotEndOffsetsOperator(task_id="offsets_before", topics=TOPIC_NAMES)
        setup.ingestor >> before

    with TaskGroup("ingest") as ingest:
        generate = GeneratorRunOperator(
            task_id="generate",
            run_id=run,
            count="{{ params.events }}",
            batch_size="{{ params.batch_size }}",
            rate="{{ params.rate }}",
            retries=0,  # a second run would double the events
        )
        advanced = EndOffsetsAdvancedSensor(
            task_id="offsets_advanced",
            before=before.output,
            min_advance=generate.output,
            timeout_seconds="{{ params.timeout_seconds }}",
        )
        after = SnapshotEndOffsetsOperator(task_id="offsets_after", topics=TOPIC_NAMES)
        generate >> advanced >> after

    with TaskGroup("verify") as verify:
        fault = fault_task(
            "duplicate_records",
            duplicate_records,
            topic=TOPICS[0].name,
            count=3,
            before=before.output,
            after=after.output,
        )
        final = SnapshotEndOffsetsOperator(
            task_id="offsets_final", topics=TOPIC_NAMES, trigger_rule=AFTER_FAULT
        )
        records = VerifyGeneratorRunOperator(
            task_id="records_exactly_once",
            generator_summary=generate.output,
            before=before.output,
            after=final.output,
        )
        fault >> final >> records

    setup.group >> ingest >> verify
    return Report(
        title="Kafka basic ingest",
        figures={
            "generator": generate,
            "offsets_before": before,
            "offsets_after": final,
            "records": records,
            "fault": fault,
        },
        headline={
            "events acknowledged": ("generator.acknowledged", "events"),
            "transactions found in Kafka": ("records.raw_financial_transactions.found", "records"),
            "claims found in Kafka": ("records.raw_insurance_claims.found", "records"),
            "rejected by the ingestor": ("generator.rejected", "events"),
            "generator rate": ("generator.events_per_second", "events/s"),
        },
    )


kafka_ingest_basic()
