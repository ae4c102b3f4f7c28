"""What one generator run does, and its one spelling as ``simulate_data.py`` arguments.

The Airflow operators build a :class:`GeneratorConfig` from their fields; a run that
must outlive its task is handed to a detached ``simulate_data.py`` as
``config.to_args()``, which that process reads back with :meth:`GeneratorConfig.from_args`.
The flags are declared once, in :func:`build_parser`, next to the code that writes them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from kafkalab.domain.schemas import STREAMS
from kafkalab.settings import get_settings


def _random_run_id() -> str:
    return uuid.uuid4().hex[:8]


@dataclass(frozen=True)
class GeneratorConfig:
    target: Literal["http", "kafka"] = "http"
    ingestor_url: str = "http://127.0.0.1:8000"
    bootstrap: str = "127.0.0.1:9092"
    seed: int = 42
    run_id: str = field(default_factory=_random_run_id)
    rate: float | None = None  # events per second over both streams; None: as fast as possible
    count: int | None = None
    duration: float | None = None
    financial_share: float = 0.5
    batch_size: int = 1  # 1: the single-event endpoints of the lab guide
    concurrency: int = 32
    start_time: dt.datetime | None = None
    give_up_after: float = 300.0  # seconds of failed retries for one request
    status_file: Path | None = None
    progress_every: float = 5.0
    # stream name -> topic, for the kafka target; unnamed streams go to their own topic
    topics: Mapping[str, str] = field(default_factory=dict)

    def validate(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.rate is not None and self.rate <= 0:
            raise ValueError("rate must be positive (or omitted for as fast as possible)")
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        unknown = sorted(set(self.topics) - set(STREAMS))
        if unknown:
            raise ValueError(f"topics name unknown streams {unknown}; streams: {sorted(STREAMS)}")

    def topic_for(self, stream_name: str) -> str:
        return self.topics.get(stream_name, STREAMS[stream_name].topic)

    def to_args(self) -> list[str]:
        """This run as ``simulate_data.py`` arguments; ``from_args`` reads them back."""
        args = [
            "--target", self.target,
            "--url", self.ingestor_url,
            "--bootstrap", self.bootstrap,
            "--seed", str(self.seed),
            "--run-id", self.run_id,
            "--financial-share", str(self.financial_share),
            "--batch-size", str(self.batch_size),
            "--concurrency", str(self.concurrency),
            "--give-up-after", str(self.give_up_after),
            "--progress-every", str(self.progress_every),
        ]  # fmt: skip
        optional = {
            "--rate": self.rate,
            "--count": self.count,
            "--duration": self.duration,
            "--start-time": self.start_time.isoformat() if self.start_time else None,
            "--status-file": self.status_file,
            **{f"--{stream}-topic": topic for stream, topic in self.topics.items()},
        }
        for flag, value in optional.items():
            if value is not None:
                args += [flag, str(value)]
        return args

    @classmethod
    def from_args(cls, argv: Sequence[str] | None = None) -> GeneratorConfig:
        return cls.from_namespace(build_parser().parse_args(argv))

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> GeneratorConfig:
        rate = args.rate
        if rate is None and args.delay_seconds:
            rate = 1.0 / args.delay_seconds
        optional = {"run_id": args.run_id} if args.run_id else {}
        return cls(
            target=args.target,
            ingestor_url=args.url.rstrip("/"),
            bootstrap=args.bootstrap,
            seed=args.seed,
            rate=rate,
            count=args.count,
            duration=args.duration,
            financial_share=args.financial_share,
            batch_size=args.batch_size,
            concurrency=args.concurrency,
            start_time=args.start_time,
            give_up_after=args.give_up_after,
            status_file=args.status_file,
            progress_every=args.progress_every,
            topics={
                name: topic for name in STREAMS if (topic := getattr(args, f"{name}_topic", None))
            },
            **optional,
        )


def build_parser() -> argparse.ArgumentParser:
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="simulate_data.py",
        description="Send mock financial transactions and insurance claims to the ingestor.",
    )
    parser.add_argument("--target", choices=["http", "kafka"], default="http")
    parser.add_argument("--url", default=settings.ingestor_url, help="ingestor base URL")
    parser.add_argument("--bootstrap", default=settings.kafka_bootstrap, help="for --target kafka")
    parser.add_argument("--seed", type=int, default=42, help="same seed, same events")
    parser.add_argument("--run-id", help="part of every event id (default: random)")
    pace = parser.add_mutually_exclusive_group()
    pace.add_argument("--rate", type=float, help="events per second over both streams")
    pace.add_argument(
        "--delay-seconds",
        type=float,
        default=float(os.environ["DELAY_SECONDS"]) if os.environ.get("DELAY_SECONDS") else None,
        help="the lab guide's DELAY_SECONDS: pause between events (env DELAY_SECONDS)",
    )
    parser.add_argument("--count", type=int, help="stop after this many events")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument("--financial-share", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=1, help="1: single-event endpoints")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight")
    parser.add_argument(
        "--start-time",
        type=dt.datetime.fromisoformat,
        help="event time of the first event (default: now)",
    )
    parser.add_argument(
        "--give-up-after",
        type=float,
        default=300.0,
        help="seconds to keep retrying one unacknowledged request",
    )
    parser.add_argument("--status-file", type=Path, help="JSON counts, rewritten as the run goes")
    parser.add_argument("--progress-every", type=float, default=5.0)
    parser.add_argument("--financial-topic", help="with --target kafka: topic for transactions")
    parser.add_argument("--insurance-topic", help="with --target kafka: topic for claims")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    return parser
