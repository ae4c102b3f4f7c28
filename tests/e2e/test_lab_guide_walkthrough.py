"""The lab guide's commands, as docs/lab-guide-walkthrough.md gives them, run one by one.

Each command is the guide's own with `docker exec -it kafka` (or `docker compose`)
replaced by `./lab ...`, at the guide's address (`localhost:29092`); the guide's
"run until Ctrl+C" consumers are bounded with `--max-messages`. Each check is what the
guide tells its reader to look for. The real lab topics are only read: the alter runs
on a copy, and the pause-and-replay on a topic of the test's own. Whatever the test
creates (topics, consumer groups) it deletes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from kafkalab.domain.schemas import FINANCIAL, INSURANCE
from kafkalab.kafka.admin import KafkaAdmin
from kafkalab.lake.delta import read_delta
from tests.support.lab import REPO_ROOT, lab
from tests.support.streaming import STREAMING_JOB, produce_transactions

GUIDE_TOPICS = {FINANCIAL.topic: FINANCIAL, INSURANCE.topic: INSURANCE}
# The fan-out groups of the guide; the test's are these names with a suffix of its own.
GUIDE_GROUPS = {
    FINANCIAL.topic: "real-time-dashboard-financial",
    INSURANCE.topic: "audit-log-insurance",
}
SAMPLE = 10


@pytest.fixture(scope="module")
def guide(settings) -> str:
    """The guide's --bootstrap-server."""
    return f"localhost:{settings.kafka_guide_port}"


def kafka(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return lab("kafka", *args, timeout=timeout)


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, f"exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def describe_groups(guide: str, *groups: str) -> list[dict[str, str]]:
    """`kafka-consumer-groups --describe` rows: GROUP, TOPIC, PARTITION, ..., LAG."""
    args = [arg for group in groups for arg in ("--group", group)]
    result = kafka("kafka-consumer-groups", "--bootstrap-server", guide, "--describe", *args)
    rows, header = [], None
    for line in result.stdout.splitlines():
        fields = line.split()
        if fields[:2] == ["GROUP", "TOPIC"]:
            header = fields
        elif header and len(fields) >= 6 and fields[0] in groups:
            rows.append(dict(zip(header, fields, strict=False)))
    return rows


def total_lag(rows: list[dict[str, str]]) -> int | None:
    """The group's lag over its partitions; None until it committed on every one."""
    if not rows or any(not row["LAG"].isdigit() for row in rows):
        return None
    return sum(int(row["LAG"]) for row in rows)


def delete_groups(guide: str, *groups: str) -> None:
    args = [arg for group in groups for arg in ("--group", group)]
    kafka("kafka-consumer-groups", "--bootstrap-server", guide, "--delete", *args)


def delete_topic(guide: str, topic: str) -> None:
    kafka("kafka-topics", "--bootstrap-server", guide, "--delete", "--topic", topic)


def published_total(settings) -> float:
    metrics = httpx.get(f"{settings.ingestor_url}/metrics", timeout=10).text
    pattern = re.compile(r"^ingestor_events_published_total\{[^}]*\} (\S+)$", re.M)
    return sum(float(value) for value in pattern.findall(metrics))


# --- Basic use case: decoupled ingestion ----------------------------------------------


def test_setup_the_lab_topics_exist_at_the_guide_address(guide) -> None:
    listed = ok(kafka("kafka-topics", "--bootstrap-server", guide, "--list")).split()
    assert set(GUIDE_TOPICS) <= set(listed), listed


@pytest.fixture(scope="module")
def generated(settings) -> str:
    """Step 1, `python3 simulate_data.py`: the generator runs (bounded here)."""
    before = published_total(settings)
    result = lab("generate", "--count", "200", timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "acknowledged 200" in output, output
    # The guide checks the ingestor's logs for publishing; ours counts it in /metrics.
    assert published_total(settings) >= before + 200
    return output


@pytest.mark.parametrize("topic", list(GUIDE_TOPICS))
def test_the_console_consumer_shows_the_streams_json(guide, generated, topic: str) -> None:
    out = ok(
        kafka(
            "kafka-console-consumer",
            "--bootstrap-server",
            guide,
            "--topic",
            topic,
            "--from-beginning",
            "--max-messages",
            str(SAMPLE),
            "--timeout-ms",
            "60000",
        )
    )
    messages = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(messages) == SAMPLE, out
    id_field = GUIDE_TOPICS[topic].id_field
    assert all(isinstance(m, dict) and m.get(id_field) for m in messages), messages


# --- Advanced use case 1: fan-out to independent consumer groups ------------------------


def test_new_consumer_groups_read_from_the_beginning_and_show_their_lag(
    settings, guide, generated, unique_name
) -> None:
    groups = {topic: f"{group}-{unique_name}" for topic, group in GUIDE_GROUPS.items()}
    try:
        for topic, group in groups.items():
            out = ok(
                kafka(
                    "kafka-console-consumer",
                    "--bootstrap-server",
                    guide,
                    "--topic",
                    topic,
                    "--group",
                    group,
                    "--from-beginning",
                    "--max-messages",
                    str(SAMPLE),
                    "--timeout-ms",
                    "60000",
                )
            )
            assert len([line for line in out.splitlines() if line.startswith("{")]) == SAMPLE

        # "Observe all consumers": each group has its own offsets and its own lag.
        rows = describe_groups(guide, *groups.values())
        admin = KafkaAdmin({"bootstrap.servers": settings.kafka_bootstrap})
        for topic, group in groups.items():
            mine = [r for r in rows if r["GROUP"] == group]
            assert {r["TOPIC"] for r in mine} == {topic}, rows
            committed = {int(r["PARTITION"]): int(r["CURRENT-OFFSET"]) for r in mine}
            earliest = admin.earliest_offsets(topic)
            read = sum(committed[p] - earliest.get(p, 0) for p in committed)
            assert read == SAMPLE, f"{group} committed {committed}, expected {SAMPLE} read"
            for row in mine:
                assert int(row["LAG"]) == int(row["LOG-END-OFFSET"]) - int(row["CURRENT-OFFSET"])
            assert total_lag(mine) > 0, "the group read a sample only: it must lag"
    finally:
        delete_groups(guide, *groups.values())


# --- Advanced use case 2: pause, lag, unpause, replay from earliest ---------------------


def wait_for_lag(guide: str, group: str, wanted: int, timeout: float) -> int | None:
    deadline = time.monotonic() + timeout
    lag = total_lag(describe_groups(guide, group))
    while lag != wanted and time.monotonic() < deadline:
        time.sleep(3)
        lag = total_lag(describe_groups(guide, group))
    return lag


@pytest.fixture
def streaming_job(settings, guide, unique_name, tmp_path) -> Iterator[dict]:
    """The guide's running Spark job: `./lab spark-submit` in a terminal of its own."""
    topic = f"walkthrough_dr_{unique_name}"
    group = f"spark-{unique_name}"
    ok(
        kafka(
            "kafka-topics",
            "--bootstrap-server",
            guide,
            "--create",
            "--topic",
            topic,
            "--partitions",
            "3",
            "--replication-factor",
            "1",
        )
    )
    output = f"s3a://{settings.raw_bucket}/tests/walkthrough/{unique_name}/financial_data_delta"
    log = (tmp_path / "spark.log").open("wb")
    # A session of its own, as a terminal gives a job; so it is stopped whole after.
    process = subprocess.Popen(
        [
            str(REPO_ROOT / "lab"),
            "spark-submit",
            str(STREAMING_JOB),
            topic,
            guide,
            output,
            "--startingOffsets",
            "earliest",
            "--trigger",
            "processingTime=2 seconds",
            "--consumer-group",
            group,
            "--stream",
            FINANCIAL.name,
        ],
        cwd=REPO_ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield {
            "topic": topic,
            "group": group,
            "output": output,
            "job": f"spark-submit-{process.pid}",
            "log": tmp_path / "spark.log",
        }
    finally:
        for signum, wait in ((signal.SIGCONT, 0), (signal.SIGTERM, 60), (signal.SIGKILL, 10)):
            if process.poll() is None:
                os.killpg(process.pid, signum)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(wait)
        log.close()
        delete_groups(guide, group)
        delete_topic(guide, topic)


def test_pause_spark_lets_its_lag_grow_unpause_drains_it_and_a_replay_has_everything(
    settings, guide, streaming_job
) -> None:
    topic, group, job = streaming_job["topic"], streaming_job["group"], streaming_job["job"]
    produce_transactions(settings, topic, 300, run_id=f"{topic}-before")
    caught_up = wait_for_lag(guide, group, 0, timeout=300)
    assert caught_up == 0, (
        f"the streaming job never caught up (lag {caught_up}):\n"
        + streaming_job["log"].read_text(errors="replace")[-4000:]
    )
    # "Note current offset" before stopping Spark.
    noted = ok(kafka("kafka-get-offsets", "--bootstrap-server", guide, "--topic", topic))
    assert sum(int(line.rsplit(":", 1)[1]) for line in noted.split()) == 300, noted

    # `docker compose pause spark`
    paused = ok(lab("pause", "spark", job))
    assert f"paused {job}" in paused and "now paused" in paused, paused
    produce_transactions(settings, topic, 300, run_id=f"{topic}-during")
    time.sleep(8)  # four trigger intervals: a running job would have caught up
    # The lag grows while Spark is paused, and stays: nothing consumes.
    assert total_lag(describe_groups(guide, group)) == 300

    # `docker compose unpause spark`: the backlog drains.
    resumed = ok(lab("unpause", "spark", job))
    assert f"resumed {job}" in resumed and "now running" in resumed, resumed
    assert wait_for_lag(guide, group, 0, timeout=180) == 0

    # The replay: a new job from `earliest` into ..._reprocessed holds every record.
    reprocessed = streaming_job["output"] + "_reprocessed"
    replay = lab(
        "spark-submit",
        str(STREAMING_JOB),
        topic,
        guide,
        reprocessed,
        "--startingOffsets",
        "earliest",
        "--trigger",
        "availableNow",
        "--stream",
        FINANCIAL.name,
        timeout=600,
    )
    assert replay.returncode == 0, replay.stderr[-4000:]
    rows = read_delta(settings, reprocessed, ["kafka_partition", "kafka_offset"]).to_pylist()
    offsets = sorted((row["kafka_partition"], row["kafka_offset"]) for row in rows)
    end = KafkaAdmin({"bootstrap.servers": settings.kafka_bootstrap}).end_offsets(topic)
    assert offsets == sorted((p, o) for p, n in end.items() for o in range(n))


# --- Advanced use case 3: more partitions -------------------------------------------------


def test_a_topic_goes_to_6_partitions_and_never_back(guide, unique_name) -> None:
    # A copy of raw_financial_transactions' layout: the real topic is never altered.
    topic = f"walkthrough_scaling_{unique_name}"
    ok(
        kafka(
            "kafka-topics",
            "--bootstrap-server",
            guide,
            "--create",
            "--topic",
            topic,
            "--partitions",
            "3",
            "--replication-factor",
            "1",
        )
    )
    try:
        ok(
            kafka(
                "kafka-topics",
                "--bootstrap-server",
                guide,
                "--alter",
                "--topic",
                topic,
                "--partitions",
                "6",
            )
        )
        described = ok(
            kafka("kafka-topics", "--bootstrap-server", guide, "--describe", "--topic", topic)
        )
        assert "PartitionCount: 6" in described, described
        assert sorted(re.findall(r"Partition: (\d+)", described)) == [str(p) for p in range(6)]

        decrease = kafka(
            "kafka-topics",
            "--bootstrap-server",
            guide,
            "--alter",
            "--topic",
            topic,
            "--partitions",
            "3",
        )
        assert decrease.returncode != 0
        assert "would not be an increase" in decrease.stdout + decrease.stderr
    finally:
        delete_topic(guide, topic)
    listed = ok(kafka("kafka-topics", "--bootstrap-server", guide, "--list")).split()
    assert topic not in listed
