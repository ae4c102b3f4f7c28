"""Run on the Spark driver by ``bench/replay.py --stages``: what each step of the job costs.

    spark-submit bench/replay_stages.py <topic> <bootstrap> <table_path> <rows> <rounds>

Reads a filled topic (``rows`` records, no more coming) whole, again and again in one
warm JVM, each time through a longer prefix of the streaming job's pipeline (the
functions the job itself uses, ``kafkalab.spark.driver``), so that the difference
between two stages is what the step between them costs per row. Every stage but the
last ends in Spark's ``noop`` sink, which runs the plan and writes nothing; the last
appends to a Delta table as the job does. Prints one JSON line: rows/s of each stage,
the median of ``rounds``.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

from kafkalab.domain.schemas import FINANCIAL, spark_ddl
from kafkalab.spark.driver import (
    CORRUPT_COLUMN,
    flag_records,
    quarantined_records,
    spark_session,
    valid_events,
)

# In pipeline order; each stage includes the ones before it but "keys", which is the
# unknown-fields pass's own parse over the fetch, to compare with "parse".
STAGES = ("fetch", "text", "parse", "keys", "flag", "cache", "delta")


def main(argv: list[str]) -> int:
    topic, bootstrap, table, rows, rounds = argv[0], argv[1], argv[2], int(argv[3]), int(argv[4])
    spark = spark_session("kafkalab-replay-stages")
    from pyspark.sql import functions as F

    def records():
        return (
            spark.read.format("kafka")
            .option("kafka.bootstrap.servers", bootstrap)
            .option("subscribe", topic)
            .option("startingOffsets", "earliest")
            .option("endingOffsets", "latest")
            .load()
        )

    model = FINANCIAL.model
    ddl = f"{spark_ddl(model)}, `{CORRUPT_COLUMN}` STRING"
    text = F.col("value").cast("string")

    def run(stage: str) -> None:
        if stage == "fetch":
            frame = records().select("offset", "value")
        elif stage == "text":
            frame = records().select(F.length(text))
        elif stage == "parse":
            frame = records().select(F.from_json(text, ddl).alias("event")).select("event.*")
        elif stage == "keys":
            frame = records().select(F.json_object_keys(text))
        elif stage == "flag":
            frame = valid_events(flag_records(records(), model), model)
        else:
            flagged = flag_records(records(), model).persist()
            try:
                valid = valid_events(flagged, model)
                if stage == "cache":
                    valid.write.format("noop").mode("overwrite").save()
                else:
                    valid.write.format("delta").mode("append").save(table)
                quarantined_records(flagged).isEmpty()
            finally:
                flagged.unpersist()
            return
        frame.write.format("noop").mode("overwrite").save()

    for stage in STAGES:  # class loading and code generation, once
        run(stage)
    seconds: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for _ in range(rounds):
        # Interleaved: a slow moment of a shared machine spreads over every stage.
        for stage in STAGES:
            started = time.monotonic()
            run(stage)
            seconds[stage].append(time.monotonic() - started)
    print(
        json.dumps(
            {
                "rows": rows,
                "rows_per_s": {
                    stage: round(rows / statistics.median(runs)) for stage, runs in seconds.items()
                },
            }
        ),
        flush=True,
    )
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
