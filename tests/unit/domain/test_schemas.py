from __future__ import annotations

import datetime as dt
import json

import pytest
from pydantic import ValidationError

from kafkalab.domain.schemas import (
    FINANCIAL,
    INSURANCE,
    FinancialTransaction,
    InsuranceClaim,
    required_fields,
    spark_ddl,
    sql_violations,
    stream_for_topic,
)
from tests.support.events import LAB_GUIDE_CLAIM, LAB_GUIDE_TRANSACTION


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
        # Readable to pydantic, not to Spark: see ACCEPTED_EXTREMES in the Spark tests.
        ({"timestamp": "2026-01-01T00:00:00+22:10"}, "UTC offset \\+22:10 is beyond"),
        ({"timestamp": "0033-09-26T03:53:15-21:26"}, "UTC offset -21:26 is beyond"),
        ({"timestamp": "0001-01-01T05:00:00+18:00"}, "before year 1"),
        ({"timestamp": "9999-12-31T20:00:00-18:00"}, "after year 9999"),
        ({"sequence": 2**63}, "sequence"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_invalid_transactions_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        FinancialTransaction.model_validate({**LAB_GUIDE_TRANSACTION, **change})


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-01-01T00:00:00+18:00",
        "2026-01-01T00:00:00-18:00",
        "0001-01-01T05:00:00-18:00",
        "9999-12-31T20:00:00+18:00",
        "0001-01-01T00:00:00",
    ],
)
def test_event_times_spark_can_read_are_accepted(timestamp: str) -> None:
    event = FinancialTransaction.model_validate({**LAB_GUIDE_TRANSACTION, "timestamp": timestamp})
    assert event.timestamp.utcoffset() is not None


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
    # A date or an instant: one TIMESTAMP column holds both (a date as its day's start).
    assert "`incident_date` TIMESTAMP" in spark_ddl(InsuranceClaim)


def test_streams_are_found_by_topic_and_unknown_topics_are_named() -> None:
    assert stream_for_topic("raw_insurance_claims") is INSURANCE
    assert FINANCIAL.batch_path == "/ingest-financial-transaction/batch"
    with pytest.raises(KeyError, match="raw_financial_transactions"):
        stream_for_topic("nope")


def _guide_time(moment: dt.datetime) -> str:
    # How the guide platform's simulate_data.py writes every time field.
    return moment.isoformat(timespec="seconds") + "Z"


def test_a_claim_from_the_guide_platform_client_keeps_its_incident_instant() -> None:
    claim = InsuranceClaim.model_validate_json(
        json.dumps(
            {
                **LAB_GUIDE_CLAIM,
                "timestamp": _guide_time(dt.datetime(2026, 10, 2, 9, 30)),
                "incident_date": _guide_time(dt.datetime(2026, 10, 1, 8)),
            }
        )
    )
    assert claim.incident_date == dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC)
    # What the ingestor publishes is what was sent.
    assert json.loads(claim.model_dump_json())["incident_date"] == "2026-10-01T08:00:00Z"


@pytest.mark.parametrize(
    ("sent", "published"),
    [
        ("2025-12-30", "2025-12-30"),
        ("2026-10-01T08:00:00Z", "2026-10-01T08:00:00Z"),
        # Midnight elsewhere is not that day in UTC: the offset is kept, not dropped.
        ("2026-10-01T00:00:00+02:00", "2026-10-01T00:00:00+02:00"),
        ("2026-10-01T08:00:00", "2026-10-01T08:00:00Z"),
    ],
)
def test_an_incident_date_is_a_day_or_an_instant_as_sent(sent: str, published: str) -> None:
    payload = {**LAB_GUIDE_CLAIM, "incident_date": sent}
    # Python mode is what FastAPI runs for single events, JSON mode the batch endpoint.
    for claim in (
        InsuranceClaim.model_validate(payload),
        InsuranceClaim.model_validate_json(json.dumps(payload)),
    ):
        assert json.loads(claim.model_dump_json())["incident_date"] == published


@pytest.mark.parametrize("bad", ["2025-13-40", "yesterday", "", None, "2026-10-01T25:00:00Z"])
def test_an_unreadable_incident_date_is_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="incident_date"):
        InsuranceClaim.model_validate({**LAB_GUIDE_CLAIM, "incident_date": bad})


def test_the_quarantine_names_both_accepted_incident_date_forms() -> None:
    rules = dict(sql_violations(InsuranceClaim))
    assert (
        rules["incident_date is missing or not a datetime or date"] == "(`incident_date` IS NULL)"
    )
