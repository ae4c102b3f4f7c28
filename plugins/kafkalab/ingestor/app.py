"""The FastAPI ingestor: validated events in over HTTP, acknowledged records out to Kafka.

    uvicorn kafkalab.ingestor.app:app --host 127.0.0.1 --port 8000

Wire-compatible with the lab guide's platform (``POST /ingest-financial-transaction/``,
``POST /ingest-insurance-claim/``), plus batch endpoints, ``/health`` and ``/metrics``.
A 2xx answer means the broker acknowledged the record (``acks=all``); when it cannot,
the answer is 503 with ``Retry-After`` and the client retries with the same event id.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import Field, TypeAdapter, ValidationError

from kafkalab.domain.schemas import STREAMS, StreamSpec
from kafkalab.ingestor.publisher import (
    Delivery,
    InFlight,
    KafkaPublisher,
    PublishError,
    RecentDeliveries,
)
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


@dataclass(frozen=True)
class StreamMetrics:
    """Label children resolved once: `.labels()` on every request is measurable cost."""

    accepted: Any
    published: Any
    publish_failed: Any
    latency: Any


METRICS = {
    name: StreamMetrics(
        ACCEPTED.labels(name),
        PUBLISHED.labels(name),
        PUBLISH_FAILED.labels(name),
        PUBLISH_LATENCY.labels(name),
    )
    for name in STREAMS
}


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
    app.state.publisher = KafkaPublisher(
        settings, delivery_timeout_ms=int(settings.ingestor_delivery_timeout_seconds * 1000)
    )
    app.state.recent = RecentDeliveries()
    app.state.topics = {s.name: settings.topic_for(s.name, s.topic) for s in STREAMS.values()}
    log.info("publishing to %s: %s", settings.kafka_bootstrap, app.state.topics)
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


def _answer(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/json")


def _unavailable(detail: str, results: list[dict[str, Any]] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"detail": detail}
    if results is not None:
        body["results"] = results
    return JSONResponse(body, status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS})


async def _publish(request: Request, stream: StreamSpec, events: list) -> list[dict[str, Any]]:
    """Publish each event id once; per-event outcome, in request order."""
    publisher: KafkaPublisher = request.app.state.publisher
    recent: RecentDeliveries = request.app.state.recent
    started = time.perf_counter()
    event_ids = [stream.event_id(event) for event in events]
    # No await until every new id is registered: a concurrent request with the same id
    # then waits for this publish instead of starting a second one.
    known = {event_id: recent.get(event_id) for event_id in event_ids}
    fresh_index: dict[str, int] = {}
    fresh: list[tuple[str, bytes]] = []
    for event_id, event in zip(event_ids, events, strict=True):
        if known[event_id] is None and event_id not in fresh_index:
            fresh_index[event_id] = len(fresh)
            fresh.append((stream.event_key(event), event.model_dump_json().encode()))
    if fresh:
        future = publisher.publish_many(request.app.state.topics[stream.name], fresh)
        for event_id, index in fresh_index.items():
            known[event_id] = InFlight(future, index)
            recent.begin(event_id, known[event_id])

    results = []
    published = 0
    for event_id in event_ids:
        pending = known[event_id]
        outcome = pending if isinstance(pending, Delivery) else await pending.outcome()
        recent.finish(event_id, outcome)
        if isinstance(outcome, PublishError):
            results.append({"id": event_id, "status": "failed", "error": str(outcome)})
            continue
        published += 1
        results.append(
            {
                "id": event_id,
                "status": "published",
                "topic": outcome.topic,
                "partition": outcome.partition,
                "offset": outcome.offset,
            }
        )
    metrics = METRICS[stream.name]
    metrics.published.inc(published)
    if published < len(results):
        metrics.publish_failed.inc(len(results) - published)
    metrics.latency.observe(time.perf_counter() - started)
    return results


async def _ingest_one(request: Request, stream: StreamSpec, event) -> Response:
    METRICS[stream.name].accepted.inc()
    if not request.app.state.publisher.broker_available:
        METRICS[stream.name].publish_failed.inc()
        return _unavailable("Kafka is unreachable; nothing was published, retry later")
    [result] = await _publish(request, stream, [event])
    if result["status"] != "published":
        return _unavailable(f"Kafka did not acknowledge the event: {result['error']}")
    return _answer(result)


async def _ingest_batch(request: Request, stream: StreamSpec, events: list) -> Response:
    METRICS[stream.name].accepted.inc(len(events))
    if not request.app.state.publisher.broker_available:
        METRICS[stream.name].publish_failed.inc(len(events))
        return _unavailable("Kafka is unreachable; nothing was published, retry later")
    results = await _publish(request, stream, events)
    published = sum(1 for r in results if r["status"] == "published")
    if published < len(results):
        # Per-event results tell the client which ids to send again.
        return _unavailable(
            f"{len(results) - published} of {len(results)} events not acknowledged", results
        )
    return _answer({"published": published, "results": results})


PUBLISH_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": "Body too large"},
    # Declared here: FastAPI documents its 422 only for parameters it validates itself.
    422: {"description": "Invalid event(s): each error's loc names the field"},
    503: {"description": "Kafka unreachable: nothing published for failed events; retry"},
}


class JsonBody:
    """A request body parsed and validated by pydantic straight from the raw bytes.

    Declared as a parameter, the body would cost FastAPI a dependency resolution, a
    ``json.loads`` and a validation of the Python objects: for a single event that is
    most of what the ingestor spends on a request besides HTTP and Kafka, and parsing
    with validating in one pass in pydantic-core is a fifth of a batch request's CPU.
    The OpenAPI document stays exact: ``openapi`` is the request body the parameter
    would have declared, and ``components`` the schemas it refers to.
    """

    def __init__(self, body_type: Any) -> None:
        self.adapter = TypeAdapter(body_type)
        schema = self.adapter.json_schema(ref_template=SCHEMA_REF)
        self.components: dict[str, Any] = schema.pop("$defs", {})
        self.schema = schema

    def openapi(self) -> dict[str, Any]:
        return {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": self.schema}},
            }
        }

    async def parse(self, request: Request) -> Any:
        try:
            return self.adapter.validate_json(await request.body())
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
            ) from exc


class RequestOnlyRoute(APIRoute):
    """A route whose endpoint takes the request and answers with a ``Response``.

    FastAPI resolves every endpoint's parameters (path, query, headers, cookies) even
    when it declares none, a sixth of a single-event request's CPU in the ingestor.
    The publishing endpoints parse their body themselves (``JsonBody``), so the route
    hands them the request as it is; routing, exception handlers and the OpenAPI
    document are FastAPI's as for any route (FastAPI's "custom APIRoute class").
    """

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        return self.endpoint


SCHEMA_REF = "#/components/schemas/{model}"


def event_body(model: type) -> JsonBody:
    """One event: a reference to the model's component, as FastAPI would declare it."""
    body = JsonBody(model)
    # A model at the top of its own schema is inlined by pydantic; the document refers
    # to it as a component instead, which is what generated clients name types after.
    body.components[model.__name__] = body.schema
    body.schema = {"$ref": SCHEMA_REF.format(model=model.__name__)}
    return body


def add_stream_routes(router: APIRouter, stream: StreamSpec) -> dict[str, Any]:
    """A stream's two endpoints: ``POST stream.path`` (one event), ``stream.batch_path``.

    Named after the path (``ingest_financial_transaction`` and its plural), which is
    what OpenAPI's operation ids and summaries are made of. Returns the schemas their
    bodies refer to, for the document's components.
    """
    name = stream.path.strip("/").replace("-", "_")
    single = event_body(stream.model)
    batch = JsonBody(
        Annotated[list[stream.model], Field(min_length=1, max_length=MAX_BATCH_EVENTS)]
    )

    async def ingest_one(request: Request) -> Response:
        return await _ingest_one(request, stream, await single.parse(request))

    async def ingest_batch(request: Request) -> Response:
        return await _ingest_batch(request, stream, await batch.parse(request))

    router.post(stream.path, name=name, tags=[stream.name], openapi_extra=single.openapi())(
        ingest_one
    )
    router.post(
        stream.batch_path, name=f"{name}s", tags=[stream.name], openapi_extra=batch.openapi()
    )(ingest_batch)
    return {**single.components, **batch.components}


publishing = APIRouter(route_class=RequestOnlyRoute, responses=PUBLISH_RESPONSES)
EVENT_SCHEMAS: dict[str, Any] = {}
for _stream in STREAMS.values():
    EVENT_SCHEMAS.update(add_stream_routes(publishing, _stream))
app.include_router(publishing)


def openapi_with_event_schemas() -> dict[str, Any]:
    """FastAPI's document plus the event models, which no declared parameter names."""
    if app.openapi_schema is None:
        document = FastAPI.openapi(app)
        document.setdefault("components", {}).setdefault("schemas", {}).update(EVENT_SCHEMAS)
    return app.openapi_schema


app.openapi = openapi_with_event_schemas  # type: ignore[method-assign]


@app.get("/health", responses={503: {"description": "Kafka unreachable"}}, tags=["ops"])
async def health(request: Request) -> Response:
    ok, detail = await asyncio.to_thread(request.app.state.publisher.health)
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "kafka": detail}, status_code=200 if ok else 503
    )


@app.get("/metrics", tags=["ops"], response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
