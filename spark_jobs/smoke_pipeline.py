"""Data-plane smoke test: Kafka -> Structured Streaming -> Delta on S3, then read back.

    spark-submit spark_jobs/smoke_pipeline.py <topic> <bootstrap> <output_path>

Runs one availableNow query from the earliest offset, so it ends by itself once every
record present at start has been written, and prints one JSON line with the row count
Spark reads back from the Delta table.
"""

from __future__ import annotations

import argparse
import json

from pyspark.sql import SparkSession
from pyspark.sql import functions as F


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("topic")
    parser.add_argument("bootstrap")
    parser.add_argument("output_path")
    parser.add_argument("--checkpoint", help="default: <output_path>/_checkpoint")
    args = parser.parse_args()
    checkpoint = args.checkpoint or f"{args.output_path.rstrip('/')}/_checkpoint"

    spark = SparkSession.builder.appName(f"kafkalab-smoke-{args.topic}").getOrCreate()
    records = (
        spark.readStream.format("kafka")
        .option("kafka.bootstrap.servers", args.bootstrap)
        .option("subscribe", args.topic)
        .option("startingOffsets", "earliest")
        .load()
        .select(
            F.col("key").cast("string").alias("key"),
            F.col("value").cast("string").alias("value"),
            "topic",
            "partition",
            "offset",
            "timestamp",
        )
    )
    query = (
        records.writeStream.format("delta")
        .option("checkpointLocation", checkpoint)
        .trigger(availableNow=True)
        .start(args.output_path)
    )
    query.awaitTermination()
    rows = spark.read.format("delta").load(args.output_path).count()
    print(json.dumps({"rows": rows, "output_path": args.output_path}))
    spark.stop()


if __name__ == "__main__":
    main()
