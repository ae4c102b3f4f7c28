"""Kafka -> Spark Structured Streaming -> Delta on S3, with the lab's jars and settings."""

from __future__ import annotations

from tests.support.smoke import run_smoke_pipeline


def test_every_produced_event_lands_in_delta_on_s3(settings, kafka_topics) -> None:
    result = run_smoke_pipeline(settings, kafka_topics, events=500)
    assert result.passed, result.message
    assert result.delta_rs_rows == 500
