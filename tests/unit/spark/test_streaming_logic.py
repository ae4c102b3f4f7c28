from __future__ import annotations

import pytest

from kafkalab.domain.schemas import FinancialTransaction, InsuranceClaim, sql_violations
from kafkalab.spark.driver import parse_end_offsets
from spark_jobs.streaming_consumer import trigger_options


def test_spark_kafka_offsets_are_read_per_partition() -> None:
    assert parse_end_offsets('{"raw_financial_transactions": {"0": 10, "2": 7, "1": 0}}') == {
        "raw_financial_transactions": {0: 10, 1: 0, 2: 7}
    }
    assert parse_end_offsets(None) == {}


def test_quarantine_rules_follow_the_ingestor_schema() -> None:
    rules = dict(sql_violations(FinancialTransaction))
    assert rules["amount must be > 0"] == "(`amount` <= 0)"
    assert rules["currency must match ^[A-Z]{3}$"] == "(NOT (`currency` RLIKE '^[A-Z]{3}$'))"
    assert rules["transaction_id is missing or not a str"] == "(`transaction_id` IS NULL)"
    # Optional fields are checked only for their constraints, never for presence.
    assert not any(reason.startswith("merchant_id is missing") for reason in rules)
    assert "policy_number is missing or not a str" in dict(sql_violations(InsuranceClaim))


def test_triggers() -> None:
    assert trigger_options("availableNow") == {"availableNow": True}
    assert trigger_options("processingTime=10 seconds") == {"processingTime": "10 seconds"}
    with pytest.raises(ValueError, match="availableNow or processingTime"):
        trigger_options("continuous=1s")
