"""append_once on real Spark and Delta tables on the object store: a rerun batch is not
written twice, whether the table records its batches or predates that record."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from kafkalab.lab.stack.environment import child_environment
from kafkalab.spark.jobs import SparkSubmit

SCENARIOS = Path(__file__).with_name("append_once_scenarios.py")


def test_a_batch_is_appended_once_across_reruns(settings) -> None:
    base = f"s3a://{settings.raw_bucket}/tests/append_once/{os.urandom(4).hex()}"
    job = subprocess.run(
        SparkSubmit.from_settings(settings).command(SCENARIOS, [base]),
        env=child_environment(settings),
        capture_output=True,
        text=True,
    )
    assert job.returncode == 0, job.stderr[-3000:]
    counts = json.loads(job.stdout.strip().splitlines()[-1])
    assert counts == {
        "new table, first batch": 10,
        "next batch": 20,
        "rerun of the last batch": 20,
        "rerun after another app's append": 30,
        "batch after the last": 40,
        "legacy table, rerun": 10,
        "legacy table, next batch": 20,
    }
