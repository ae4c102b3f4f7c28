"""A generator run: paced events to the ingestor (HTTP) or straight to Kafka.

Delivery rule: an event counts as acknowledged only when the ingestor answered 2xx
for it (or, straight to Kafka, when the broker acknowledged it). A 503, a refused
connection or a timeout means "not acknowledged": the same event, with the same id, is
sent again after a backoff, so the ingestor's idempotency key keeps Kafka free of
copies. A 4xx is final: the event is counted as rejected and never resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import aiohttp

from kafkalab.domain.schemas import STREAMS, StreamSpec
from kafkalab.generator.events import EventFactory, GeneratedEvent


@dataclass
class GeneratorConfig:
    target: Literal["http", "kafka"] = "http"
    ingestor_url: str = "http://127.0.0.1:8000"
    bootstrap: str = "127.0.0.1:9092"
    seed: int = 42
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    rate: float | None = None  # events per second over both streams; None: as fast as possible
    count: int | None = None
    duration: float | None = None
    financial_share: float = 0.5
    batch_size: int = 1  # 1: the single-event endpoints of the lab guide
    concurrency: int = 32
    start_time: dt.datetime | None = None
    give_up_after: float = 300.0  # seconds of failed retries for one request
    request_timeout: float = 30.0
    status_file: Path | None = None
    progress_every: float = 5.0
    topics: dict[str, str] = field(default_factory=dict)  # stream name -> topic (kafka target)

    def validate(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive (or omitted for as fast as possible)")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")


@dataclass
class StreamCounts:
    topic: str
    sent: int = 0
    acknowledged: int = 0
    rejected: int = 0
    unacknowledged: int = 0
    retries: int = 0
    acknowledged_sequences: list[int] = field(default_factory=list, repr=False)

    def id_range(self, stream: StreamSpec, run_id: str) -> dict[str, object]:
        if not self.acknowledged_sequences:
            return {"first_sequence": None, "last_sequence": None, "contiguous": True}
        low, high = min(self.acknowledged_sequences), max(self.acknowledged_sequences)
        return {
            "first_sequence": low,
            "last_sequence": high,
            "first_id": f"{stream.id_prefix}-{run_id}-{low:09d}",
            "last_id": f"{stream.id_prefix}-{run_id}-{high:09d}",
            "contiguous": high - low + 1 == len(set(self.acknowledged_sequences)),
        }


@dataclass
class GeneratorSummary:
    run_id: str
    target: str
    state: str
    started_at: str
    elapsed_seconds: float
    sent: int
    acknowledged: int
    rejected: int
    unacknowledged: int
    retries: int
    events_per_second: float
    topics: dict[str, dict[str, object]]
    errors: list[str]

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    def line(self) -> str:
        per_topic = ", ".join(f"{t}: {c['acknowledged']}" for t, c in self.topics.items())
        return (
            f"run {self.run_id} ({self.target}) {self.state}: sent {self.sent}, "
            f"acknowledged {self.acknowledged}, rejected {self.rejected}, "
            f"unacknowledged {self.unacknowledged}, retries {self.retries}, "
            f"{self.events_per_second:.0f} events/s [{per_topic}]"
        )


JSON_HEADERS = {"Content-Type": "application/json"}


class GeneratorRun:
    def __init__(self, config: GeneratorConfig, progress: Callable[[str], None] | None = None):
        config.validate()
        self.config = config
        self.progress = progress or (lambda message: None)
        self.factory = EventFactory(
            seed=config.seed,
            run_id=config.run_id,
            start_time=config.start_time or dt.datetime.now(dt.UTC),
            financial_share=config.financial_share,
        )
        self.counts = {s.name: StreamCounts(topic=s.topic) for s in STREAMS.values()}
        self.errors: list[str] = []
        self._stop = asyncio.Event()
        self.started_at = dt.datetime.now(dt.UTC)
        self.started = time.monotonic()
        self.state = "running"

    # --- summary / status -------------------------------------------------------------

    def summary(self) -> GeneratorSummary:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        total = {
            k: sum(getattr(c, k) for c in self.counts.values())
            for k in ("sent", "acknowledged", "rejected", "unacknowledged", "retries")
        }
        topics = {}
        for name, counts in self.counts.items():
            stream = STREAMS[name]
            topics[counts.topic] = {
                "sent": counts.sent,
                "acknowledged": counts.acknowledged,
                "rejected": counts.rejected,
                "unacknowledged": counts.unacknowledged,
                "retries": counts.retries,
                **counts.id_range(stream, self.config.run_id),
            }
        return GeneratorSummary(
            run_id=self.config.run_id,
            target=self.config.target,
            state=self.state,
            started_at=self.started_at.isoformat(),
            elapsed_seconds=round(elapsed, 3),
            events_per_second=round(total["acknowledged"] / elapsed, 1),
            topics=topics,
            errors=self.errors[-10:],
            **total,
        )

    def write_status(self) -> None:
        path = self.config.status_file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(self.summary().to_json())
        # Readers in other processes never see a half-written file.
        os.replace(temporary, path)

    # --- pacing ---------------------------------------------------------------------------

    def _should_continue(self, produced: int) -> bool:
        if self._stop.is_set():
            return False
        if self.config.count is not None and produced >= self.config.count:
            return False
        elapsed = time.monotonic() - self.started
        return not (self.config.duration is not None and elapsed >= self.config.duration)

    async def _pace(self, produced: int) -> None:
        if self.config.rate is None:
            if produced % 256 == 0:
                await asyncio.sleep(0)
            return
        due = self.started + produced / self.config.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _report_progress(self) -> None:
        while True:
            await asyncio.sleep(self.config.progress_every)
            self.write_status()
            self.progress(self.summary().line())

    # --- run ------------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> GeneratorSummary:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Outside the main thread there are no signal handlers: the caller stops the run.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.request_stop)
        self.started = time.monotonic()
        self.write_status()
        reporter = asyncio.create_task(self._report_progress())
        try:
            if self.config.target == "kafka":
                await self._run_kafka()
            else:
                await self._run_http()
            self.state = "stopped" if self._stop.is_set() else "finished"
        except Exception as exc:
            self.state = "failed"
            self.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            reporter.cancel()
            self.write_status()
        summary = self.summary()
        self.progress(summary.line())
        return summary

    async def _run_http(self) -> None:
        slots = asyncio.Semaphore(self.config.concurrency)
        in_flight: set[asyncio.Task] = set()
        buffers: dict[str, list[GeneratedEvent]] = {name: [] for name in STREAMS}
        connector = aiohttp.TCPConnector(limit=self.config.concurrency, force_close=False)
        timeout = aiohttp.ClientTimeout(total=self.config.request_timeout)

        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

            async def launch(stream_name: str) -> None:
                batch, buffers[stream_name] = buffers[stream_name], []
                await slots.acquire()
                task = asyncio.create_task(self._send_with_retries(session, batch))
                in_flight.add(task)
                task.add_done_callback(lambda t: (in_flight.discard(t), slots.release()))

            produced = 0
            last_flush = time.monotonic()
            while self._should_continue(produced):
                await self._pace(produced)
                generated = self.factory.next()
                produced += 1
                self.counts[generated.stream.name].sent += 1
                buffers[generated.stream.name].append(generated)
                now = time.monotonic()
                # At low rates a batch would wait too long to fill: flush by time too.
                flush_all = now - last_flush > 0.2
                for name, buffer in buffers.items():
                    if buffer and (len(buffer) >= self.config.batch_size or flush_all):
                        await launch(name)
                if flush_all:
                    last_flush = now
            for name, buffer in buffers.items():
                if buffer:
                    await launch(name)
            if in_flight:
                await asyncio.gather(*in_flight, return_exceptions=True)

    async def _send_with_retries(
        self, session: aiohttp.ClientSession, batch: list[GeneratedEvent]
    ) -> None:
        stream = batch[0].stream
        counts = self.counts[stream.name]
        pending = batch
        first_failure: float | None = None
        attempt = 0
        while pending:
            retry_after: float | None = None
            try:
                produced_at = dt.datetime.now(dt.UTC)
                encoded = [g.to_json(produced_at) for g in pending]
                if self.config.batch_size == 1 and len(pending) == 1:
                    url, payload = self.config.ingestor_url + stream.path, encoded[0]
                else:
                    url = self.config.ingestor_url + stream.batch_path
                    payload = b"[" + b",".join(encoded) + b"]"
                async with session.post(url, data=payload, headers=JSON_HEADERS) as response:
                    body = await response.json(content_type=None)
                    status = response.status
                    retry_after_header = response.headers.get("Retry-After")
                    retry_after = float(retry_after_header) if retry_after_header else None
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                status, body = None, {"detail": f"{type(exc).__name__}: {exc}"}

            if status is not None and 200 <= status < 300:
                counts.acknowledged += len(pending)
                counts.acknowledged_sequences.extend(g.sequence for g in pending)
                return
            if status is not None and 400 <= status < 500:
                counts.rejected += len(pending)
                self._note_error(f"{status} from {stream.path}: {str(body)[:300]}")
                return
            # Not acknowledged: keep only what the ingestor did not confirm.
            results = body.get("results") if isinstance(body, dict) else None
            if results:
                confirmed = {r["id"] for r in results if r.get("status") == "published"}
                done = [g for g in pending if g.event_id in confirmed]
                counts.acknowledged += len(done)
                counts.acknowledged_sequences.extend(g.sequence for g in done)
                pending = [g for g in pending if g.event_id not in confirmed]
            now = time.monotonic()
            first_failure = first_failure or now
            if now - first_failure > self.config.give_up_after:
                counts.unacknowledged += len(pending)
                self._note_error(
                    f"gave up on {len(pending)} {stream.name} events after "
                    f"{self.config.give_up_after:.0f}s: {str(body)[:200]}"
                )
                return
            counts.retries += 1
            attempt += 1
            backoff = min(0.1 * 2**attempt, 5.0) * random.uniform(0.5, 1.0)
            await asyncio.sleep(max(backoff, min(retry_after or 0.0, 5.0)))

    def _note_error(self, message: str) -> None:
        if len(self.errors) < 1000:
            self.errors.append(message)

    async def _run_kafka(self) -> None:
        from confluent_kafka import Producer

        delivered: list[tuple[str, int, bool]] = []

        def on_delivery(stream_name: str, sequence: int):
            def callback(error, message) -> None:
                delivered.append((stream_name, sequence, error is None))

            return callback

        producer = Producer(
            {
                "bootstrap.servers": self.config.bootstrap,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "compression.type": "lz4",
                "batch.num.messages": 10_000,
            }
        )

        def drain() -> None:
            while delivered:
                stream_name, sequence, ok = delivered.pop()
                counts = self.counts[stream_name]
                if ok:
                    counts.acknowledged += 1
                    counts.acknowledged_sequences.append(sequence)
                else:
                    counts.unacknowledged += 1

        produced = 0
        while self._should_continue(produced):
            await self._pace(produced)
            generated = self.factory.next()
            produced += 1
            self.counts[generated.stream.name].sent += 1
            while True:
                try:
                    producer.produce(
                        self.config.topics.get(generated.stream.name, generated.stream.topic),
                        key=generated.key,
                        value=generated.to_json(dt.datetime.now(dt.UTC)),
                        on_delivery=on_delivery(generated.stream.name, generated.sequence),
                    )
                    break
                except BufferError:
                    producer.poll(0.05)
            producer.poll(0)
            if produced % 1000 == 0:
                drain()
        await asyncio.to_thread(producer.flush, 60)
        drain()


def run_generator(
    config: GeneratorConfig, progress: Callable[[str], None] | None = None
) -> GeneratorSummary:
    """Run to the end (count, duration or a stop signal) and return the summary."""
    return asyncio.run(GeneratorRun(config, progress).run())


def print_progress(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)
