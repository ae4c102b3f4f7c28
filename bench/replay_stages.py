"""Run on the Spark driver by ``bench/replay.py --stages``: what each step of the job costs.

    spark-submit bench/replay_stages.py <topic> <bootstrap> <table_path> <rows> <rounds>

Reads a filled topic (``rows`` records, no more coming) whole, again and again in one
warm JVM, each time through a longer prefix of the streaming job's pipeline (the
functions the job itself uses, ``kafkalab.spark.driver``), so that the difference
between two stages is what the step between them costs per row. Every stage but the
last ends in Spark's ``noop`` sink, which runs the plan and writes nothing; the last
appends to a Delta table as the job does. Prints one JSON line: rows/s of each stage,
the median of ``rounds``, and the stage each one adds its step to.
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
    spark_session,
    valid_events,
    write_flagged,
)

# In pipeline order, each with the stage it adds a step to: "keys" is the unknown-fields
# pass's own parse of the fetched text, beside "parse".
STAGES = {
    "fetch": None,
    "text": "fetch",
    "parse": "text",
    "keys": "text",
    "flag": "parse",
    "cache": "flag",
    "delta": "cache",
}


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

    def write_nowhere(frame) -> None:
        frame.write.format("noop").mode("overwrite").save()

    def append_to_table(frame) -> None:
        frame.write.format("delta").mode("append").save(table)

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
            write_valid = write_nowhere if stage == "cache" else append_to_table
            write_flagged(flag_records(records(), model), model, write_valid, lambda _: None)
            return
        write_nowhere(frame)

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
                "after": STAGES,
            }
        ),
        flush=True,
    )
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
