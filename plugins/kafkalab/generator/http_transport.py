"""Events to the ingestor over HTTP, retried until acknowledged.

Delivery rule: an event counts as acknowledged only when the ingestor answered 2xx for
it. A 503, a refused connection or a timeout means "not acknowledged": the same event,
with the same id, is sent again after a backoff, so the ingestor's idempotency key keeps
Kafka free of copies. A 4xx is final: the event is counted as rejected and never resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import aiohttp
import orjson

from kafkalab.generator.config import GeneratorConfig
from kafkalab.generator.counts import RunCounts
from kafkalab.generator.events import GeneratedEvent

JSON_HEADERS = {"Content-Type": "application/json"}
# Longer than the ingestor's delivery timeout (settings.ingestor_delivery_timeout_seconds):
# a request given up while the ingestor still retries its records would be sent again
# and could land twice.
REQUEST_TIMEOUT_SECONDS = 60.0
FIRST_BACKOFF_SECONDS = 0.1
MAX_BACKOFF_SECONDS = 5.0

Outcome = Literal["acknowledged", "rejected", "retry"]


def outcome_of(status: int | None) -> Outcome:
    """What an answer means for the events it was about (``None``: no answer at all)."""
    if status is not None and 200 <= status < 300:
        return "acknowledged"
    if status is not None and 400 <= status < 500:
        return "rejected"
    return "retry"


def backoff_seconds(attempt: int, retry_after: float | None, jitter: float) -> float:
    """Exponential backoff with ``jitter`` in [0.5, 1]; a server's Retry-After, up to the cap,
    is waited in full."""
    exponential = min(FIRST_BACKOFF_SECONDS * 2**attempt, MAX_BACKOFF_SECONDS) * jitter
    return max(exponential, min(retry_after or 0.0, MAX_BACKOFF_SECONDS))


def published_ids(body: Any) -> set[str]:
    """Ids a batch answer confirms although the whole request was not acknowledged."""
    results = body.get("results") if isinstance(body, dict) else None
    return {r["id"] for r in results or () if r.get("status") == "published"}


class HttpTransport:
    """Up to ``config.concurrency`` requests in flight, each retried until it has an outcome."""

    def __init__(
        self, config: GeneratorConfig, counts: RunCounts, session: aiohttp.ClientSession
    ) -> None:
        self.config = config
        self.counts = counts
        self.session = session
        self.slots = asyncio.Semaphore(config.concurrency)
        self.in_flight: set[asyncio.Task] = set()

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, config: GeneratorConfig, counts: RunCounts) -> AsyncIterator[HttpTransport]:
        connector = aiohttp.TCPConnector(limit=config.concurrency, force_close=False)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            transport = cls(config, counts, session)
            yield transport
            # A stopped run still lets its in-flight requests reach an outcome.
            if transport.in_flight:
                await asyncio.gather(*transport.in_flight, return_exceptions=True)

    async def send(self, batch: Sequence[GeneratedEvent]) -> None:
        await self.slots.acquire()
        task = asyncio.create_task(self._deliver(list(batch)))
        self.in_flight.add(task)
        task.add_done_callback(self._request_done)

    def _request_done(self, task: asyncio.Task) -> None:
        self.in_flight.discard(task)
        self.slots.release()

    async def _post(self, pending: list[GeneratedEvent]) -> tuple[int | None, Any, float | None]:
        """One attempt: the status (None when there was no answer), the body, Retry-After."""
        stream = pending[0].stream
        produced_at = dt.datetime.now(dt.UTC)
        encoded = [g.to_json(produced_at) for g in pending]
        if self.config.batch_size == 1 and len(pending) == 1:
            url, payload = self.config.ingestor_url + stream.path, encoded[0]
        else:
            url = self.config.ingestor_url + stream.batch_path
            payload = b"[" + b",".join(encoded) + b"]"
        # Timed up to the whole answer read (or the failure), whatever the outcome: a
        # retried attempt is one more request, as the ingestor saw it.
        sent = time.perf_counter()
        try:
            async with self.session.post(url, data=payload, headers=JSON_HEADERS) as response:
                body = await response.json(content_type=None, loads=orjson.loads)
                retry_after = response.headers.get("Retry-After")
                return response.status, body, float(retry_after) if retry_after else None
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            return None, {"detail": f"{type(exc).__name__}: {exc}"}, None
        finally:
            self.counts.request_latency.record(time.perf_counter() - sent)

    async def _deliver(self, batch: list[GeneratedEvent]) -> None:
        stream = batch[0].stream
        counts = self.counts[stream.name]
        pending = batch
        first_failure: float | None = None
        attempt = 0
        while pending:
            status, body, retry_after = await self._post(pending)
            outcome = outcome_of(status)
            if outcome == "acknowledged":
                counts.acknowledge(g.sequence for g in pending)
                return
            if outcome == "rejected":
                counts.rejected += len(pending)
                self.counts.note_error(f"{status} from {stream.path}: {str(body)[:300]}")
                return
            # Not acknowledged: keep only what the ingestor did not confirm.
            confirmed = published_ids(body)
            if confirmed:
                counts.acknowledge(g.sequence for g in pending if g.event_id in confirmed)
                pending = [g for g in pending if g.event_id not in confirmed]
            now = time.monotonic()
            first_failure = first_failure or now
            if now - first_failure > self.config.give_up_after:
                counts.unacknowledged += len(pending)
                self.counts.note_error(
                    f"gave up on {len(pending)} {stream.name} events after "
                    f"{self.config.give_up_after:.0f}s: {str(body)[:200]}"
                )
                return
            counts.retries += 1
            attempt += 1
            await asyncio.sleep(backoff_seconds(attempt, retry_after, random.uniform(0.5, 1.0)))
