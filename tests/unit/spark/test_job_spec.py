"""One definition of the streaming job's options: what launchers pass is what the job reads."""

from __future__ import annotations

from dataclasses import fields

import pytest

from kafkalab.spark.spec import JOB_OPTIONS, StreamingJobSpec
from tests.support.streaming import EVERY_JOB_OPTION

EVERY_OPTION_SET = StreamingJobSpec(bootstrap="kafka:29092", **EVERY_JOB_OPTION)
ONLY_REQUIRED = StreamingJobSpec(
    topic="raw_insurance_claims", bootstrap="localhost:9092", output_path="s3a://b/claims"
)


def test_the_example_sets_every_field() -> None:
    unset = [f.name for f in fields(StreamingJobSpec) if getattr(EVERY_OPTION_SET, f.name) is None]
    assert unset == []


@pytest.mark.parametrize("spec", [EVERY_OPTION_SET, ONLY_REQUIRED], ids=["all", "required"])
def test_to_args_then_from_args_gives_the_same_spec(spec: StreamingJobSpec) -> None:
    assert StreamingJobSpec.from_args(spec.to_args()) == spec


def test_unset_options_are_left_off_the_command_line() -> None:
    assert ONLY_REQUIRED.to_args() == [
        "raw_insurance_claims",
        "localhost:9092",
        "s3a://b/claims",
        "--startingOffsets",
        "earliest",
        "--trigger",
        "processingTime=5 seconds",
    ]


def test_an_empty_rendered_template_counts_as_unset() -> None:
    spec = StreamingJobSpec(topic="t", bootstrap="b", output_path="o", consumer_group="")
    assert "--consumer-group" not in spec.to_args()


def test_the_lab_guide_invocation_parses() -> None:
    spec = StreamingJobSpec.from_args(
        [
            "raw_financial_transactions",
            "kafka:29092",
            "s3a://raw-data-bucket/financial_data_delta_reprocessed",
            "--startingOffsets",
            "earliest",
            "--starting-offsets",
            "latest",
            "--max-offsets-per-trigger",
            "200",
        ]
    )
    assert spec.starting_offsets == "latest"
    assert spec.max_offsets_per_trigger == 200
    assert spec.output_path.endswith("financial_data_delta_reprocessed")


def test_an_unknown_stream_is_refused() -> None:
    with pytest.raises(SystemExit):
        StreamingJobSpec.from_args(["t", "b", "o", "--stream", "weather"])


def test_what_the_job_derives_from_its_options() -> None:
    assert ONLY_REQUIRED.checkpoint_location == "s3a://b/claims/_checkpoints/stream"
    assert ONLY_REQUIRED.quarantine_output == "s3a://b/claims_quarantine"
    assert ONLY_REQUIRED.name == "kafkalab_raw_insurance_claims"
    assert StreamingJobSpec("t", "b", "s3a://b/claims/").output == "s3a://b/claims"
    assert EVERY_OPTION_SET.checkpoint_location == EVERY_OPTION_SET.checkpoint
    assert EVERY_OPTION_SET.name == "financial_replay"
    # Delta's idempotence key follows the checkpoint, so a restarted stream keeps it.
    assert ONLY_REQUIRED.app_id == StreamingJobSpec("x", "y", "s3a://b/claims").app_id
    assert ONLY_REQUIRED.app_id != EVERY_OPTION_SET.app_id


def test_launchers_set_every_option_but_the_kafka_address() -> None:
    assert set(JOB_OPTIONS) == {f.name for f in fields(StreamingJobSpec)} - {"bootstrap"}
