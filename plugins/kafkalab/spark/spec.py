"""The streaming consumer's options, defined once: what launchers pass, what the job parses.

``StreamingJobSpec.to_args()`` gives spark_jobs/streaming_consumer.py's command-line
arguments; the job turns its argv back into the same spec with ``from_args()``. The
argparse definition is built from the fields, so an option added here exists for every
launcher (the Airflow operators, the benchmark, the tests) and for the job at once.

Imported on the Spark driver: only the standard library and the pure domain package.
"""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from kafkalab.domain.schemas import STREAMS

DESCRIPTION = "Stream a lab topic from Kafka into a Delta table on S3, exactly once."


def _positional(help_text: str | None = None) -> Any:
    return field(metadata={"help": help_text})


def _option(
    flag: str,
    default: Any = None,
    *,
    aliases: Sequence[str] = (),
    value_type: type = str,
    help_text: str | None = None,
    choices: Sequence[str] | None = None,
) -> Any:
    metadata = {
        "flags": (flag, *aliases),
        "type": value_type,
        "help": help_text,
        "choices": choices,
    }
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class StreamingJobSpec:
    """Every option of spark_jobs/streaming_consumer.py; ``None`` leaves the job's default."""

    topic: str = _positional()
    bootstrap: str = _positional()
    output_path: str = _positional("Delta table, e.g. s3a://raw-data-bucket/financial")
    # Only read for a new checkpoint: a restarted query goes on from its checkpoint.
    starting_offsets: str = _option(
        "--startingOffsets",
        "earliest",
        aliases=("--starting-offsets",),
        help_text="earliest, latest or Kafka JSON offsets (only for a new checkpoint)",
    )
    trigger: str = _option(
        "--trigger",
        "processingTime=5 seconds",
        help_text="availableNow, or processingTime=<interval>",
    )
    consumer_group: str | None = _option(
        "--consumer-group", help_text="commit finished offsets to this group"
    )
    checkpoint: str | None = _option(
        "--checkpoint", help_text="default: <output_path>/_checkpoints/stream"
    )
    quarantine_path: str | None = _option(
        "--quarantine-path", help_text="default: <output_path>_quarantine"
    )
    stream: str | None = _option(
        "--stream",
        help_text="event schema (default: from the topic name)",
        choices=sorted(STREAMS),
    )
    max_offsets_per_trigger: int | None = _option("--max-offsets-per-trigger", value_type=int)
    min_partitions: int | None = _option(
        "--min-partitions",
        value_type=int,
        help_text="Spark tasks per batch (default: one per Kafka partition)",
    )
    run_for: float | None = _option(
        "--run-for", value_type=float, help_text="stop after this many seconds"
    )
    stop_when_idle: float | None = _option(
        "--stop-when-idle",
        value_type=float,
        help_text="stop after this many seconds without new records",
    )
    query_name: str | None = _option("--query-name", help_text="default: kafkalab_<topic>")

    def to_args(self) -> list[str]:
        """The job's arguments: positionals, then every option that is set."""
        args: list[str] = []
        for spec_field in fields(self):
            value = getattr(self, spec_field.name)
            flags = spec_field.metadata.get("flags")
            if flags is None:
                args.append(str(value))
            # Operators pass rendered templates: an empty one means "not set", as None does.
            elif value not in (None, ""):
                args += [flags[0], str(value)]
        return args

    @classmethod
    def parser(cls) -> argparse.ArgumentParser:
        parser = argparse.ArgumentParser(description=DESCRIPTION)
        for spec_field in fields(cls):
            meta = spec_field.metadata
            if "flags" not in meta:
                parser.add_argument(spec_field.name, help=meta["help"])
                continue
            parser.add_argument(
                *meta["flags"],
                dest=spec_field.name,
                default=spec_field.default,
                type=meta["type"],
                choices=meta["choices"],
                help=meta["help"],
            )
        return parser

    @classmethod
    def from_args(cls, argv: Sequence[str] | None = None) -> StreamingJobSpec:
        """Parse ``argv`` (default: this process's arguments), as the job does at start."""
        namespace = cls.parser().parse_args(None if argv is None else list(argv))
        return cls(**vars(namespace))

    # --- what the job derives from its options ------------------------------------------

    @property
    def output(self) -> str:
        return self.output_path.rstrip("/")

    @property
    def checkpoint_location(self) -> str:
        return self.checkpoint or f"{self.output}/_checkpoints/stream"

    @property
    def quarantine_output(self) -> str:
        return (self.quarantine_path or f"{self.output}_quarantine").rstrip("/")

    @property
    def app_id(self) -> str:
        """Stable across restarts of the same stream (same checkpoint): Delta's idempotence key."""
        return "kafkalab-" + hashlib.sha256(self.checkpoint_location.encode()).hexdigest()[:16]

    @property
    def name(self) -> str:
        return self.query_name or f"kafkalab_{self.topic}"


# The options a launcher sets besides the Kafka address, which it takes from its own config.
JOB_OPTIONS = tuple(f.name for f in fields(StreamingJobSpec) if f.name != "bootstrap")
