"""The one definition of the lab's events.

The generator builds these, the ingestor validates requests with them, the Spark job
parses Kafka values with the Spark schema derived here, and the reconciliation checks
read the ids they define.

The wire contract is the one of the platform the lab guide comes from: a user's own
``simulate_data.py`` keeps working unchanged. ``run_id``, ``sequence`` and
``produced_at`` are additions (optional on the wire) that make every event of our
generator globally unique and ordered: ``<prefix>-<run_id>-<sequence>``.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

# What Spark reads: java.time's zone offsets stop at +-18:00 (ISO 8601 and pydantic go to
# +-23:59), and its timestamps at years 1-9999 in UTC. An instant outside either made
# the whole event unreadable to the Spark job, which quarantined what the ingestor had
# accepted (found by fuzzing the ingestor: "+22:10", "0033-09-26T03:53:15-21:26").
MAX_UTC_OFFSET = dt.timedelta(hours=18)
# Spark's LongType, the column of an integer field.
MAX_LONG = 2**63 - 1


def _event_instant(value: dt.datetime) -> dt.datetime:
    # The original platform accepted zone-less timestamps; they were UTC. Beyond that,
    # only what Spark can read (see MAX_UTC_OFFSET). Called for every event time the
    # ingestor validates, hence the cheap tests first.
    offset = value.utcoffset()
    if offset is None:
        return value.replace(tzinfo=dt.UTC)
    if not -MAX_UTC_OFFSET <= offset <= MAX_UTC_OFFSET:
        hours, minutes = divmod(abs(offset) // dt.timedelta(minutes=1), 60)
        sign = "-" if offset < dt.timedelta(0) else "+"
        raise ValueError(
            f"UTC offset {sign}{hours:02d}:{minutes:02d} is beyond +-18:00, the range of time zones"
        )
    # Only an instant in year 1 or 9999 can fall outside them once shifted to UTC.
    if value.year in (1, 9999):
        try:
            value.astimezone(dt.UTC)
        except OverflowError:
            raise ValueError("the instant is before year 1 or after year 9999 in UTC") from None
    return value


EventTime = Annotated[dt.datetime, AfterValidator(_event_instant)]
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day_when_no_time(value: typing.Any) -> typing.Any:
    # Decided by what was sent, not by which type accepts it: lax validation would read
    # "2026-10-01" as midnight, and "2026-10-01T00:00:00+02:00" as a day.
    if isinstance(value, str) and _DAY.fullmatch(value.strip()):
        return dt.date.fromisoformat(value.strip())
    return value


# The guide platform's client sends a claim's incident date as a datetime
# ("2026-10-01T08:00:00Z"); a plain date ("2026-10-01") is just as valid. The event keeps
# what was sent: the instant (and its offset) where one was given, else the day.
DateOrTime = Annotated[EventTime | dt.date, BeforeValidator(_day_when_no_time)]
Money = Annotated[float, Field(gt=0, le=1_000_000_000, description="Positive amount")]
Identifier = Annotated[str, Field(min_length=1, max_length=128)]
ShortText = Annotated[str, Field(min_length=1, max_length=64)]


class LabEvent(BaseModel):
    # Unknown fields are refused: a typo in a producer must not pass as valid data.
    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="Generator run that made the event (kafkalab addition)"
    )
    sequence: Annotated[int, Field(ge=0, le=MAX_LONG)] | None = Field(
        default=None, description="Position of the event in its run (kafkalab addition)"
    )
    produced_at: EventTime | None = Field(
        default=None, description="When the producer sent the event (kafkalab addition)"
    )


class FinancialTransaction(LabEvent):
    transaction_id: Identifier
    timestamp: EventTime = Field(description="Event time, ISO 8601 with zone (e.g. ...Z)")
    account_id: Identifier
    amount: Money
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")]
    transaction_type: ShortText
    merchant_id: Identifier | None = None
    category: ShortText | None = None
    is_flagged: bool = False


class InsuranceClaim(LabEvent):
    claim_id: Identifier
    timestamp: EventTime = Field(description="Event time, ISO 8601 with zone (e.g. ...Z)")
    policy_number: Identifier
    claim_amount: Money
    claim_type: ShortText
    claim_status: ShortText
    customer_id: Identifier
    incident_date: DateOrTime = Field(
        description="Day of the incident, or its instant (ISO 8601: 2026-10-01 or ...T08:00:00Z)"
    )


@dataclass(frozen=True)
class StreamSpec:
    """Everything that differs between the two streams."""

    name: str
    topic: str
    model: type[LabEvent]
    id_field: str
    key_field: str
    id_prefix: str
    path: str

    @property
    def batch_path(self) -> str:
        return self.path.rstrip("/") + "/batch"

    def event_id(self, event: LabEvent) -> str:
        return getattr(event, self.id_field)

    def event_key(self, event: LabEvent) -> str:
        return getattr(event, self.key_field)


FINANCIAL = StreamSpec(
    name="financial",
    topic="raw_financial_transactions",
    model=FinancialTransaction,
    id_field="transaction_id",
    key_field="account_id",
    id_prefix="txn",
    path="/ingest-financial-transaction/",
)
INSURANCE = StreamSpec(
    name="insurance",
    topic="raw_insurance_claims",
    model=InsuranceClaim,
    id_field="claim_id",
    key_field="policy_number",
    id_prefix="clm",
    path="/ingest-insurance-claim/",
)
STREAMS: dict[str, StreamSpec] = {FINANCIAL.name: FINANCIAL, INSURANCE.name: INSURANCE}


def stream_for_topic(topic: str) -> StreamSpec:
    for stream in STREAMS.values():
        if stream.topic == topic:
            return stream
    known = ", ".join(s.topic for s in STREAMS.values())
    raise KeyError(f"no event schema for topic {topic!r}; known topics: {known}")


def sequenced_id(prefix: str, run_id: str, sequence: int) -> str:
    """Ids sort in sequence order within a run: ``txn-<run>-000000042``."""
    return f"{prefix}-{run_id}-{sequence:09d}"


# --- Spark schema -----------------------------------------------------------------------

_SPARK_TYPES: dict[type, str] = {
    str: "STRING",
    int: "BIGINT",
    float: "DOUBLE",
    bool: "BOOLEAN",
    dt.datetime: "TIMESTAMP",
    dt.date: "DATE",
}


def _value_types(annotation: typing.Any) -> list[type]:
    """The Python types a field may hold, Optional and Annotated stripped."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _value_types(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [
            kind
            for member in typing.get_args(annotation)
            if member is not type(None)
            for kind in _value_types(member)
        ]
    if isinstance(annotation, type) and issubclass(annotation, dt.datetime):
        return [dt.datetime]
    return [annotation]


def _base_type(annotation: typing.Any) -> type:
    """The one Python type that stands for the field in Spark."""
    kinds = _value_types(annotation)
    # A date or a datetime is a TIMESTAMP in Spark: the instant where one was sent, the
    # day's start (UTC, the job's session time zone) where a date was.
    if set(kinds) == {dt.datetime, dt.date}:
        return dt.datetime
    return kinds[0]


def _type_name(annotation: typing.Any) -> str:
    return " or ".join(kind.__name__ for kind in _value_types(annotation))


def spark_ddl(model: type[LabEvent]) -> str:
    """The model as a Spark DDL schema string, for ``from_json(value, ddl)``.

    Written without importing pyspark so that the ingestor and the DAG files can import
    this module cheaply.
    """
    columns = []
    for name, field in model.model_fields.items():
        python_type = _base_type(field.annotation)
        columns.append(f"`{name}` {_SPARK_TYPES[python_type]}")
    return ", ".join(columns)


def required_fields(model: type[LabEvent]) -> list[str]:
    return [name for name, field in model.model_fields.items() if field.is_required()]


# --- The same rules as SQL, for the Spark job's quarantine ------------------------------


def _field_constraints(field: typing.Any) -> list[typing.Any]:
    """Constraint objects of a field, including those inside ``Optional[Annotated[...]]``."""
    found = list(field.metadata)
    pending = [field.annotation]
    while pending:
        annotation = pending.pop()
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            inner, *extras = typing.get_args(annotation)
            pending.append(inner)
            for extra in extras:
                found.extend(getattr(extra, "metadata", None) or [extra])
        elif origin in (typing.Union, types.UnionType):
            pending.extend(typing.get_args(annotation))
    return found


def sql_violations(model: type[LabEvent]) -> list[tuple[str, str]]:
    """(reason, Spark SQL condition that is true when a parsed row breaks the rule).

    Derived from the pydantic model, so the Spark job quarantines what the ingestor
    would have refused. Columns are the model's fields, as parsed by ``from_json``
    with ``spark_ddl(model)``; a value of the wrong type parses to NULL.
    """
    rules: list[tuple[str, str]] = []
    for name, field in model.model_fields.items():
        column = f"`{name}`"
        if field.is_required():
            rules.append(
                (
                    f"{name} is missing or not a {_type_name(field.annotation)}",
                    f"{column} IS NULL",
                )
            )
        for constraint in _field_constraints(field):
            kind = type(constraint).__name__
            if kind == "Gt":
                rules.append((f"{name} must be > {constraint.gt}", f"{column} <= {constraint.gt}"))
            elif kind == "Ge":
                rules.append((f"{name} must be >= {constraint.ge}", f"{column} < {constraint.ge}"))
            elif kind == "Le":
                rules.append((f"{name} must be <= {constraint.le}", f"{column} > {constraint.le}"))
            elif kind == "MinLen":
                rules.append(
                    (
                        f"{name} is shorter than {constraint.min_length}",
                        f"char_length({column}) < {constraint.min_length}",
                    )
                )
            elif kind == "MaxLen":
                rules.append(
                    (
                        f"{name} is longer than {constraint.max_length}",
                        f"char_length({column}) > {constraint.max_length}",
                    )
                )
            elif getattr(constraint, "pattern", None):
                pattern = constraint.pattern.replace("\\", "\\\\").replace("'", "\\'")
                rules.append(
                    (f"{name} must match {constraint.pattern}", f"NOT ({column} RLIKE '{pattern}')")
                )
    return [(reason, f"({condition})") for reason, condition in rules]
