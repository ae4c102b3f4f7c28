from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from kafkalab.schemas import (
    FINANCIAL,
    INSURANCE,
    FinancialTransaction,
    InsuranceClaim,
    required_fields,
    spark_ddl,
    stream_for_topic,
)

LAB_GUIDE_TRANSACTION = {
    "transaction_id": "T-1",
    "timestamp": "2026-01-01T10:00:00Z",
    "account_id": "ACC-1",
    "amount": 12.5,
    "currency": "USD",
    "transaction_type": "purchase",
}
LAB_GUIDE_CLAIM = {
    "claim_id": "C-1",
    "timestamp": "2026-01-01T10:00:00Z",
    "policy_number": "POL-1",
    "claim_amount": 900.0,
    "claim_type": "auto",
    "claim_status": "submitted",
    "customer_id": "CUST-1",
    "incident_date": "2025-12-30",
}


def test_the_lab_guide_contract_validates_without_our_additions() -> None:
    assert FinancialTransaction.model_validate(LAB_GUIDE_TRANSACTION).sequence is None
    assert InsuranceClaim.model_validate(LAB_GUIDE_CLAIM).run_id is None


def test_the_contract_fields_are_the_required_ones() -> None:
    assert set(required_fields(FinancialTransaction)) == {
        "transaction_id",
        "timestamp",
        "account_id",
        "amount",
        "currency",
        "transaction_type",
    }
    assert set(required_fields(InsuranceClaim)) == set(LAB_GUIDE_CLAIM)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": "twelve"}, "amount"),
        ({"currency": "usd"}, "currency"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_transactions_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        FinancialTransaction.model_validate({**LAB_GUIDE_TRANSACTION, **change})


def test_a_missing_field_is_refused() -> None:
    incomplete = {k: v for k, v in LAB_GUIDE_CLAIM.items() if k != "policy_number"}
    with pytest.raises(ValidationError, match="policy_number"):
        InsuranceClaim.model_validate(incomplete)


def test_zone_less_timestamps_are_read_as_utc() -> None:
    event = FinancialTransaction.model_validate(
        {**LAB_GUIDE_TRANSACTION, "timestamp": "2026-01-01T10:00:00"}
    )
    assert event.timestamp == dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC)


def test_spark_schema_follows_the_models() -> None:
    ddl = spark_ddl(FinancialTransaction)
    assert "`amount` DOUBLE" in ddl and "`timestamp` TIMESTAMP" in ddl
    assert "`is_flagged` BOOLEAN" in ddl and "`sequence` BIGINT" in ddl
    assert "`incident_date` DATE" in spark_ddl(InsuranceClaim)


def test_streams_are_found_by_topic_and_unknown_topics_are_named() -> None:
    assert stream_for_topic("raw_insurance_claims") is INSURANCE
    assert FINANCIAL.batch_path == "/ingest-financial-transaction/batch"
    with pytest.raises(KeyError, match="raw_financial_transactions"):
        stream_for_topic("nope")
