"""Run on the Spark driver by test_append_once.py: append_once against real Delta tables.

    spark-submit append_once_scenarios.py <base_path>

Prints one JSON line: each scenario's row count after its step.
"""

from __future__ import annotations

import json
import sys

from pyspark.sql import functions as F

from kafkalab.spark.driver import append_once, spark_session

ROWS = 10


def main(base: str) -> None:
    spark = spark_session("append_once_scenarios")
    batch = spark.range(ROWS).select(F.col("id"), F.lit("x").alias("payload"))
    counts: dict[str, int] = {}

    def count(path: str) -> int:
        return spark.read.format("delta").load(path).count()

    table = f"{base}/recorded"
    append_once(batch, table, "app", 0, may_be_written=True)
    counts["new table, first batch"] = count(table)
    append_once(batch, table, "app", 1, may_be_written=False)
    counts["next batch"] = count(table)
    append_once(batch, table, "app", 1, may_be_written=True)
    counts["rerun of the last batch"] = count(table)
    append_once(batch, table, "other-app", 1, may_be_written=False)
    append_once(batch, table, "app", 1, may_be_written=True)
    counts["rerun after another app's append"] = count(table)
    append_once(batch, table, "app", 2, may_be_written=True)
    counts["batch after the last"] = count(table)

    # A table written before the batches were recorded: Delta's own txn check decides.
    legacy = f"{base}/legacy"
    batch.write.format("delta").mode("append").option("txnAppId", "app").option(
        "txnVersion", 7
    ).save(legacy)
    append_once(batch, legacy, "app", 7, may_be_written=True)
    counts["legacy table, rerun"] = count(legacy)
    append_once(batch, legacy, "app", 8, may_be_written=True)
    counts["legacy table, next batch"] = count(legacy)

    print(json.dumps(counts), flush=True)
    spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
