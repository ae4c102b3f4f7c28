"""Deterministic mock events: the same seed, run id and start time give the same events."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
from faker import Faker

from kafkalab.domain.schemas import (
    FINANCIAL,
    INSURANCE,
    LabEvent,
    StreamSpec,
    sequenced_id,
)

CURRENCIES = ["USD", "EUR", "GBP", "CHF", "JPY", "CAD"]
TRANSACTION_TYPES = ["purchase", "refund", "transfer", "withdrawal", "deposit"]
CATEGORIES = ["groceries", "travel", "electronics", "dining", "utilities", "health", "fuel"]
CLAIM_TYPES = ["auto", "home", "health", "travel", "life"]
CLAIM_STATUSES = ["submitted", "under_review", "approved", "rejected", "paid"]


@dataclass(frozen=True)
class GeneratedEvent:
    """One event as plain fields; the pydantic model is built only when asked for."""

    stream: StreamSpec
    sequence: int
    fields: dict

    @property
    def event(self) -> LabEvent:
        return self.stream.model.model_construct(**self.fields)

    @property
    def event_id(self) -> str:
        return self.fields[self.stream.id_field]

    @property
    def key(self) -> str:
        return self.fields[self.stream.key_field]

    def to_json(self, produced_at: dt.datetime) -> bytes:
        return orjson.dumps({**self.fields, "produced_at": produced_at})


class EventFactory:
    """Both streams from one seeded source.

    Events are plain dicts of the schema's fields: every value comes from the pools and
    ranges below, which satisfy the schema (tests/unit/generator/test_event_factory.py checks
    it). Building and validating a model per event would halve the generator's rate.

    ``financial_share`` of the events are transactions, the rest claims. Accounts and
    policies come from fixed pools, so per-key ordering is visible in Kafka.
    """

    def __init__(
        self,
        seed: int,
        run_id: str,
        start_time: dt.datetime,
        financial_share: float = 0.5,
        accounts: int = 500,
        policies: int = 300,
    ) -> None:
        if not 0.0 <= financial_share <= 1.0:
            raise ValueError(f"financial_share must be within [0, 1], got {financial_share}")
        self.run_id = run_id
        self.start_time = start_time.astimezone(dt.UTC)
        self.financial_share = financial_share
        self.random = random.Random(seed)
        self.faker = Faker()
        self.faker.seed_instance(seed)
        # Faker builds the pools once; per-event fields come from `random`, which is
        # cheap enough for the generator's high-rate runs.
        self.accounts = [self.faker.bban() for _ in range(accounts)]
        self.policies = [self.faker.bothify("POL-########") for _ in range(policies)]
        self.customers = [self.faker.bothify("CUST-#######") for _ in range(policies)]
        self.merchants = [self.faker.bothify("MER-######") for _ in range(200)]
        self.sequence = {FINANCIAL.name: 0, INSURANCE.name: 0}
        self.event_clock = 0.0

    def _event_time(self) -> dt.datetime:
        # Event times advance by a few hundred milliseconds per event, from the start.
        self.event_clock += self.random.uniform(0.001, 0.4)
        return self.start_time + dt.timedelta(seconds=self.event_clock)

    def financial(self) -> GeneratedEvent:
        sequence = self.sequence[FINANCIAL.name]
        self.sequence[FINANCIAL.name] += 1
        event_type = self.random.choice(TRANSACTION_TYPES)
        event = dict(
            transaction_id=sequenced_id(FINANCIAL.id_prefix, self.run_id, sequence),
            timestamp=self._event_time(),
            account_id=self.random.choice(self.accounts),
            amount=round(self.random.lognormvariate(3.5, 1.2) + 0.01, 2),
            currency=self.random.choice(CURRENCIES),
            transaction_type=event_type,
            merchant_id=self.random.choice(self.merchants) if event_type == "purchase" else None,
            category=self.random.choice(CATEGORIES),
            is_flagged=self.random.random() < 0.02,
            run_id=self.run_id,
            sequence=sequence,
        )
        return GeneratedEvent(FINANCIAL, sequence, event)

    def insurance(self) -> GeneratedEvent:
        sequence = self.sequence[INSURANCE.name]
        self.sequence[INSURANCE.name] += 1
        index = self.random.randrange(len(self.policies))
        event_time = self._event_time()
        event = dict(
            claim_id=sequenced_id(INSURANCE.id_prefix, self.run_id, sequence),
            timestamp=event_time,
            policy_number=self.policies[index],
            claim_amount=round(self.random.lognormvariate(7.0, 1.0) + 1, 2),
            claim_type=self.random.choice(CLAIM_TYPES),
            claim_status=self.random.choice(CLAIM_STATUSES),
            customer_id=self.customers[index],
            incident_date=(event_time - dt.timedelta(days=self.random.randint(0, 90))).date(),
            run_id=self.run_id,
            sequence=sequence,
        )
        return GeneratedEvent(INSURANCE, sequence, event)

    def next(self) -> GeneratedEvent:
        if self.random.random() < self.financial_share:
            return self.financial()
        return self.insurance()

    def stream(self) -> Iterator[GeneratedEvent]:
        while True:
            yield self.next()
