"""Consumer lag: the figures, the conditions the exercises wait for, the messages they print.

Pure logic: no client here. ``kafkalab.kafka.admin`` fetches the offsets.

Lag of a partition = end offset - committed offset, as `kafka-consumer-groups
--describe` prints it. A partition the group never committed on counts its whole
retained range (end - earliest) as lag: nothing of it has been consumed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Literal

LagMode = Literal["at_most", "grows_by", "drains_to"]


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    end_offset: int
    committed_offset: int | None
    earliest_offset: int = 0
    time_lag_seconds: float | None = None

    @property
    def lag(self) -> int:
        start = self.committed_offset if self.committed_offset is not None else self.earliest_offset
        return max(0, self.end_offset - start)


@dataclass(frozen=True)
class LagSnapshot:
    group: str
    taken_at: float
    partitions: list[PartitionLag] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def max_partition_lag(self) -> int:
        return max((p.lag for p in self.partitions), default=0)

    @property
    def max_time_lag_seconds(self) -> float | None:
        values = [p.time_lag_seconds for p in self.partitions if p.time_lag_seconds is not None]
        return max(values) if values else None

    def to_dict(self) -> dict:
        return {
            "group": self.group,
            "taken_at": self.taken_at,
            "total_lag": self.total,
            "partitions": [{**asdict(p), "lag": p.lag} for p in self.partitions],
        }

    @classmethod
    def from_dict(cls, data: dict) -> LagSnapshot:
        partitions = [
            PartitionLag(**{k: v for k, v in p.items() if k != "lag"}) for p in data["partitions"]
        ]
        return cls(group=data["group"], taken_at=data["taken_at"], partitions=partitions)

    def table(self) -> str:
        """The per-partition figures, in the layout of `kafka-consumer-groups --describe`."""
        columns = ("PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG")
        header = f"{'TOPIC':<32} {columns[0]:>9} {columns[1]:>14} {columns[2]:>14} {columns[3]:>10}"
        lines = [f"group {self.group}:", header]
        for p in sorted(self.partitions, key=lambda p: (p.topic, p.partition)):
            current = "-" if p.committed_offset is None else str(p.committed_offset)
            time_lag = "" if p.time_lag_seconds is None else f"  ({p.time_lag_seconds:.1f}s behind)"
            figures = f"{p.partition:>9} {current:>14} {p.end_offset:>14} {p.lag:>10}"
            lines.append(f"{p.topic:<32} {figures}{time_lag}")
        lines.append(f"{'total':<32} {'':>9} {'':>14} {'':>14} {self.total:>10}")
        return "\n".join(lines)


def compute_lag(
    group: str,
    end_offsets: dict[tuple[str, int], int],
    committed: dict[tuple[str, int], int],
    earliest: dict[tuple[str, int], int] | None = None,
    taken_at: float | None = None,
) -> LagSnapshot:
    earliest = earliest or {}
    partitions = [
        PartitionLag(
            topic=topic,
            partition=partition,
            end_offset=end,
            committed_offset=committed.get((topic, partition)),
            earliest_offset=earliest.get((topic, partition), 0),
        )
        for (topic, partition), end in sorted(end_offsets.items())
    ]
    return LagSnapshot(group, time.time() if taken_at is None else taken_at, partitions)


@dataclass(frozen=True)
class LagCondition:
    """What a lag sensor waits for.

    - ``at_most``: lag <= threshold (total, or every partition with ``per_partition``),
      held for ``hold_for`` seconds without a break;
    - ``grows_by``: total lag >= baseline + threshold (the consumer is paused or
      falling behind while producers go on);
    - ``drains_to``: total lag <= threshold (a replay caught up).
    """

    mode: LagMode
    threshold: int
    per_partition: bool = False
    hold_for: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("at_most", "grows_by", "drains_to"):
            raise ValueError(f"unknown lag mode {self.mode!r}: at_most, grows_by or drains_to")
        if self.threshold < 0:
            raise ValueError(f"lag threshold must be >= 0, got {self.threshold}")

    def holds(self, snapshot: LagSnapshot, baseline_total: int | None) -> bool:
        if self.mode == "grows_by":
            return snapshot.total >= (baseline_total or 0) + self.threshold
        figure = snapshot.max_partition_lag if self.per_partition else snapshot.total
        return figure <= self.threshold

    def describe(self, baseline_total: int | None = None) -> str:
        scope = "every partition's lag" if self.per_partition else "total lag"
        if self.mode == "grows_by":
            return (
                f"total lag to grow by at least {self.threshold} "
                f"(from {baseline_total or 0} to >= {(baseline_total or 0) + self.threshold})"
            )
        verb = "to stay at most" if self.mode == "at_most" else "to drain to at most"
        hold = f" for {self.hold_for:.0f}s" if self.hold_for else ""
        return f"{scope} {verb} {self.threshold}{hold}"


@dataclass
class LagWatch:
    """Feeds snapshots to a condition; keeps the samples a report plots."""

    condition: LagCondition
    baseline_total: int | None = None
    started_at: float = field(default_factory=time.time)
    held_since: float | None = None
    samples: list[tuple[float, int]] = field(default_factory=list)

    def observe(self, snapshot: LagSnapshot) -> bool:
        if self.baseline_total is None and self.condition.mode == "grows_by":
            self.baseline_total = snapshot.total
        self.samples.append((round(snapshot.taken_at, 3), snapshot.total))
        if not self.condition.holds(snapshot, self.baseline_total):
            self.held_since = None
            return False
        self.held_since = self.held_since or snapshot.taken_at
        return snapshot.taken_at - self.held_since >= self.condition.hold_for

    def failure_message(self, snapshot: LagSnapshot, waited: float) -> str:
        return (
            f"consumer group {snapshot.group}: expected "
            f"{self.condition.describe(self.baseline_total)} within {waited:.0f}s, "
            f"but total lag is {snapshot.total} (max per partition {snapshot.max_partition_lag}).\n"
            f"{snapshot.table()}\n"
            f"Check that the consumer runs and commits "
            f"(`./lab kafka kafka-consumer-groups --bootstrap-server ... --describe --group "
            f"{snapshot.group}`)."
        )
