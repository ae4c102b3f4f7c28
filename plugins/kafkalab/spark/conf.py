"""Spark with the Kafka source, Delta Lake and S3A, preset for the lab's object store.

The settings go into a ``spark-defaults.conf`` under ``SPARK_CONF_DIR``, so that every
`spark-submit` (`./lab spark-submit`, the lab's launcher ``kafkalab.spark.jobs.SparkSubmit``)
and a SparkSession built in Python see the same jars and S3 endpoint without repeating
flags, and the S3 keys stay off command lines.
"""

from __future__ import annotations

from pathlib import Path

from kafkalab.settings import LabSettings


def spark_defaults(settings: LabSettings) -> dict[str, str]:
    jars = str(settings.paths.spark_jars / "*")
    return {
        "spark.master": settings.spark_master,
        # On the JVM classpath rather than `spark.jars`: Hadoop's FileSystem loader and
        # Delta's log store resolve classes through the system class loader.
        "spark.driver.extraClassPath": jars,
        "spark.executor.extraClassPath": jars,
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.hadoop.fs.s3a.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
        "spark.hadoop.fs.s3a.endpoint": settings.s3_endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": settings.s3_region,
        "spark.hadoop.fs.s3a.access.key": settings.s3_access_key,
        "spark.hadoop.fs.s3a.secret.key": settings.s3_secret_key,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
        ),
        # S3 has no atomic rename: Delta must write its log through the S3 log store.
        "spark.delta.logStore.s3a.impl": "io.delta.storage.S3SingleDriverLogStore",
        # Two cores: Spark's default of 200 shuffle partitions is pure overhead here.
        "spark.sql.shuffle.partitions": "4",
        # A table's state reconstruction (log replay: every checkpoint, a restart's
        # first batch, Delta's own txnAppId check) runs with this many partitions: the
        # default 50 meant ~50 tiny tasks (6-14 s on two cores) for a log of a few files.
        "spark.databricks.delta.snapshotPartitions": "2",
        # A new table's log checkpoint every 100 commits, not Delta's 10: a streaming
        # job commits about once a second, and each checkpoint (the table's state
        # rebuilt and written as Parquet) stalls its micro-batch by 3-10 s on two
        # cores, the p99 of 2,000-row batches (7.8 s, 3.4 s after). A reader then
        # replays up to 99 small JSON commits past the checkpoint.
        "spark.databricks.delta.properties.defaults.checkpointInterval": "100",
        "spark.driver.memory": "1g",
        # On a standalone worker (`./lab up --spark-cluster`): two must fit its memory.
        "spark.executor.memory": settings.spark_executor_memory,
        "spark.ui.showConsoleProgress": "false",
    }


def render_spark_defaults(settings: LabSettings) -> Path:
    conf_dir = settings.paths.spark_conf
    conf_dir.mkdir(parents=True, exist_ok=True)
    lines = [f"{key} {value}" for key, value in spark_defaults(settings).items()]
    path = conf_dir / "spark-defaults.conf"
    path.write_text(
        "# Written by `./lab up` from kafkalab.settings; edits are overwritten.\n"
        + "\n".join(lines)
        + "\n"
    )
    log4j = conf_dir / "log4j2.properties"
    log4j.write_text(
        "rootLogger.level = warn\n"
        "rootLogger.appenderRef.stdout.ref = console\n"
        "appender.console.type = Console\n"
        "appender.console.name = console\n"
        "appender.console.target = SYSTEM_ERR\n"
        "appender.console.layout.type = PatternLayout\n"
        "appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex\n"
        "logger.kafkalab.name = kafkalab\n"
        "logger.kafkalab.level = info\n"
    )
    return path
