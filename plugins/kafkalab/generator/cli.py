"""The command line of the data generator (``generators/simulate_data.py``, ``./lab generate``).

One description of a generator run: the background runs started by Airflow pass these
arguments to a process, the bounded-run operator parses them in place.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path

from kafkalab.generator.runner import GeneratorConfig, print_progress, run_generator
from kafkalab.settings import get_settings


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


def config_from_args(args: argparse.Namespace) -> GeneratorConfig:
    rate = args.rate
    if rate is None and args.delay_seconds:
        rate = 1.0 / args.delay_seconds
    config = GeneratorConfig(
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
            name: topic
            for name, topic in (
                ("financial", args.financial_topic),
                ("insurance", args.insurance_topic),
            )
            if topic
        },
    )
    if args.run_id:
        config.run_id = args.run_id
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        summary = run_generator(config, progress=print_progress)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(summary.to_json() if args.json else summary.line())
    return 0 if summary.unacknowledged == 0 and summary.rejected == 0 else 1
