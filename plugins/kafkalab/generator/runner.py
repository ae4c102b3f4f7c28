"""A generator run: paced events, batched per stream, handed to a transport.

Where the events go and how their delivery is counted is the transport's business
(``http_transport``: the ingestor, ``kafka_transport``: the broker); this module paces
the run, batches it, reports progress and ends it on count, duration or a stop signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
import sys
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import uvloop

from kafkalab.domain.schemas import STREAMS
from kafkalab.generator.config import GeneratorConfig
from kafkalab.generator.counts import GeneratorSummary, RunCounts
from kafkalab.generator.events import EventFactory, GeneratedEvent
from kafkalab.generator.pacing import Pacer
from kafkalab.generator.status import write_status
from kafkalab.generator.transport import Transport, open_transport

__all__ = ["GeneratorConfig", "GeneratorRun", "GeneratorSummary", "print_progress", "run_generator"]

# At low rates a batch would wait too long to fill: every batch is sent at least this often.
BATCH_MAX_WAIT_SECONDS = 0.2

TransportOpener = Callable[[GeneratorConfig, RunCounts], AbstractAsyncContextManager[Transport]]


class GeneratorRun:
    def __init__(
        self,
        config: GeneratorConfig,
        progress: Callable[[str], None] | None = None,
        transport: TransportOpener = open_transport,
    ) -> None:
        config.validate()
        self.config = config
        self.progress = progress or (lambda message: None)
        self.open_transport = transport
        self.factory = EventFactory(
            seed=config.seed,
            run_id=config.run_id,
            start_time=config.start_time or dt.datetime.now(dt.UTC),
            financial_share=config.financial_share,
        )
        self.counts = RunCounts()
        self.pacer = Pacer(config.rate, config.count, config.duration)
        self.started_at = dt.datetime.now(dt.UTC)
        self.state = "running"

    def summary(self) -> GeneratorSummary:
        return self.counts.summary(
            run_id=self.config.run_id,
            target=self.config.target,
            state=self.state,
            started_at=self.started_at,
            elapsed_seconds=self.pacer.elapsed(),
        )

    def write_status(self) -> None:
        if self.config.status_file is not None:
            write_status(self.config.status_file, self.summary())

    def request_stop(self) -> None:
        self.pacer.stop_requested.set()

    async def _report_progress(self) -> None:
        while True:
            await asyncio.sleep(self.config.progress_every)
            self.write_status()
            self.progress(self.summary().line())

    def _stop_on_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            # Outside the main thread there are no signal handlers: the caller stops the run.
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.request_stop)

    async def run(self) -> GeneratorSummary:
        self._stop_on_signals()
        self.pacer.restart()
        self.write_status()
        reporter = asyncio.create_task(self._report_progress())
        try:
            async with self.open_transport(self.config, self.counts) as transport:
                await self._send_events(transport)
            self.state = "stopped" if self.pacer.stop_requested.is_set() else "finished"
        except Exception as exc:
            self.state = "failed"
            self.counts.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        finally:
            reporter.cancel()
            self.write_status()
        summary = self.summary()
        self.progress(summary.line())
        return summary

    async def _send_events(self, transport: Transport) -> None:
        batches: dict[str, list[GeneratedEvent]] = {name: [] for name in STREAMS}

        async def send(stream_name: str) -> None:
            batch, batches[stream_name] = batches[stream_name], []
            await transport.send(batch)

        produced = 0
        last_flush = time.monotonic()
        while self.pacer.should_continue(produced):
            await self.pacer.wait_for_turn(produced)
            generated = self.factory.next()
            produced += 1
            self.counts[generated.stream.name].sent += 1
            batches[generated.stream.name].append(generated)
            now = time.monotonic()
            flush_all = now - last_flush > BATCH_MAX_WAIT_SECONDS
            for name, batch in batches.items():
                if batch and (len(batch) >= self.config.batch_size or flush_all):
                    await send(name)
            if flush_all:
                last_flush = now
        for name, batch in batches.items():
            if batch:
                await send(name)


def run_generator(
    config: GeneratorConfig, progress: Callable[[str], None] | None = None
) -> GeneratorSummary:
    """Run to the end (count, duration or a stop signal) and return the summary."""
    # uvloop runs the event loop and the sockets in C: in single-event mode (a request
    # per event) the stdlib loop's selector and transports were a third of the run's CPU.
    return uvloop.run(GeneratorRun(config, progress).run())


def print_progress(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def fill_topic(
    bootstrap: str,
    topic: str,
    count: int,
    run_id: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> GeneratorSummary:
    """``count`` valid financial transactions straight into ``topic``, every one acknowledged.

    The backlog benchmarks and tests start from; raises when Kafka did not acknowledge
    them all, so nothing downstream measures or checks a short backlog.
    """
    options = {"run_id": run_id} if run_id else {}
    summary = run_generator(
        GeneratorConfig(
            target="kafka",
            bootstrap=bootstrap,
            count=count,
            financial_share=1.0,
            topics={"financial": topic},
            progress_every=10,
            **options,
        ),
        progress=progress,
    )
    if summary.acknowledged != count:
        raise RuntimeError(f"{topic}: backlog incomplete: {summary.line()}")
    return summary
