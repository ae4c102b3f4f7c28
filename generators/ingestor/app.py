"""The FastAPI ingestor: validated events in over HTTP, acknowledged records out to Kafka.

    uvicorn generators.ingestor.app:app --host 127.0.0.1 --port 8000

Wire-compatible with the lab guide's platform (``POST /ingest-financial-transaction/``,
``POST /ingest-insurance-claim/``), plus batch endpoints, ``/health`` and ``/metrics``.
A 2xx answer means the broker acknowledged the record (``acks=all``); when it cannot,
the answer is 503 with ``Retry-After`` and the client retries with the same event id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Body, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import Field

from generators.ingestor.publisher import Delivery, KafkaPublisher, PublishError, RecentDeliveries
from kafkalab.schemas import FINANCIAL, INSURANCE, FinancialTransaction, InsuranceClaim, StreamSpec
from kafkalab.settings import get_settings

log = logging.getLogger("kafkalab.ingestor")

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_BATCH_EVENTS = 5000
RETRY_AFTER_SECONDS = "2"

ACCEPTED = Counter("ingestor_events_accepted_total", "Events that passed validation", ["stream"])
REJECTED = Counter("ingestor_requests_rejected_total", "Requests refused", ["reason"])
PUBLISHED = Counter("ingestor_events_published_total", "Events acknowledged by Kafka", ["stream"])
PUBLISH_FAILED = Counter(
    "ingestor_events_publish_failed_total", "Events Kafka did not acknowledge", ["stream"]
)
PUBLISH_LATENCY = Histogram(
    "ingestor_publish_latency_seconds",
    "From request to broker acknowledgement",
    ["stream"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class BodySizeLimit:
    """413 for bodies over the limit, whether or not the client sent Content-Length.

    The body is read here, before FastAPI sees it: an error raised while FastAPI reads
    the body would reach the client as a generic 400.
    """

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send)
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await self._refuse(scope, send)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope, send) -> None:
        REJECTED.labels("too_large").inc()
        response = JSONResponse(
            {"detail": f"request body larger than {self.max_bytes} bytes"}, status_code=413
        )
        await response(scope, None, send)


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    app.state.publisher = KafkaPublisher(settings.kafka_bootstrap)
    app.state.recent = RecentDeliveries()
    log.info("publishing to %s", settings.kafka_bootstrap)
    try:
        yield
    finally:
        await asyncio.to_thread(app.state.publisher.close)


app = FastAPI(
    title="kafkalab ingestor",
    version="1.0",
    summary="Validated financial transactions and insurance claims into Kafka",
    lifespan=lifespan,
)
app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)


@app.exception_handler(RequestValidationError)
async def on_invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
    REJECTED.labels("invalid").inc()
    errors = [
        {key: value for key, value in error.items() if key in ("loc", "msg", "type")}
        for error in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


def _unavailable(detail: str, results: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail}
    if results is not None:
        body["results"] = results
    return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS})


async def _publish(request: Request, stream: StreamSpec, events: list) -> list[dict[str, Any]]:
    """Publish each event once; per-event outcome, in request order."""
    publisher: KafkaPublisher = request.app.state.publisher
    recent: RecentDeliveries = request.app.state.recent
    started = time.perf_counter()
    pending: list[tuple[str, asyncio.Future[Delivery] | Delivery]] = []
    for event in events:
        event_id = stream.event_id(event)
        known = recent.get(event_id)
        if known is None:
            future = publisher.publish(
                stream.topic, stream.event_key(event), event.model_dump_json().encode()
            )
            recent.begin(event_id, future)
            pending.append((event_id, future))
        else:
            pending.append((event_id, known))
    results = []
    for event_id, outcome in pending:
        try:
            delivery = outcome if isinstance(outcome, Delivery) else await outcome
        except PublishError as exc:
            recent.finish(event_id, None)
            PUBLISH_FAILED.labels(stream.name).inc()
            results.append({"id": event_id, "status": "failed", "error": str(exc)})
            continue
        recent.finish(event_id, delivery)
        results.append(
            {
                "id": event_id,
                "status": "published",
                "topic": delivery.topic,
                "partition": delivery.partition,
                "offset": delivery.offset,
            }
        )
    published = sum(1 for r in results if r["status"] == "published")
    PUBLISHED.labels(stream.name).inc(published)
    PUBLISH_LATENCY.labels(stream.name).observe(time.perf_counter() - started)
    return results


async def _ingest_one(request: Request, stream: StreamSpec, event) -> Response:
    ACCEPTED.labels(stream.name).inc()
    if not request.app.state.publisher.broker_available:
        PUBLISH_FAILED.labels(stream.name).inc()
        return _unavailable("Kafka is unreachable; nothing was published, retry later")
    [result] = await _publish(request, stream, [event])
    if result["status"] != "published":
        return _unavailable(f"Kafka did not acknowledge the event: {result['error']}")
    return JSONResponse(result)


async def _ingest_batch(request: Request, stream: StreamSpec, events: list) -> Response:
    ACCEPTED.labels(stream.name).inc(len(events))
    if not request.app.state.publisher.broker_available:
        PUBLISH_FAILED.labels(stream.name).inc(len(events))
        return _unavailable("Kafka is unreachable; nothing was published, retry later")
    results = await _publish(request, stream, events)
    published = sum(1 for r in results if r["status"] == "published")
    if published < len(results):
        # Per-event results tell the client which ids to send again.
        return _unavailable(
            f"{len(results) - published} of {len(results)} events not acknowledged", results
        )
    return JSONResponse({"published": published, "results": results})


FinancialBatch = Annotated[
    list[FinancialTransaction], Field(min_length=1, max_length=MAX_BATCH_EVENTS)
]
ClaimBatch = Annotated[list[InsuranceClaim], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]
PUBLISH_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body too large"},
    503: {"description": "Kafka unreachable: nothing published for failed events; retry"},
}


@app.post(FINANCIAL.path, responses=PUBLISH_RESPONSES, tags=["financial"])
async def ingest_financial_transaction(request: Request, event: FinancialTransaction) -> Response:
    return await _ingest_one(request, FINANCIAL, event)


@app.post(FINANCIAL.batch_path, responses=PUBLISH_RESPONSES, tags=["financial"])
async def ingest_financial_transactions(
    request: Request, events: Annotated[FinancialBatch, Body()]
) -> Response:
    return await _ingest_batch(request, FINANCIAL, events)


@app.post(INSURANCE.path, responses=PUBLISH_RESPONSES, tags=["insurance"])
async def ingest_insurance_claim(request: Request, event: InsuranceClaim) -> Response:
    return await _ingest_one(request, INSURANCE, event)


@app.post(INSURANCE.batch_path, responses=PUBLISH_RESPONSES, tags=["insurance"])
async def ingest_insurance_claims(
    request: Request, events: Annotated[ClaimBatch, Body()]
) -> Response:
    return await _ingest_batch(request, INSURANCE, events)


@app.get("/health", responses={503: {"description": "Kafka unreachable"}}, tags=["ops"])
async def health(request: Request) -> Response:
    ok, detail = await asyncio.to_thread(request.app.state.publisher.health)
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "kafka": detail}, status_code=200 if ok else 503
    )


@app.get("/metrics", tags=["ops"], response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
