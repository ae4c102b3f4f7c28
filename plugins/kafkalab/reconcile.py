"""Reconciling what a consumer wrote against what Kafka holds: exactly once, per partition.

Pure logic over (partition, offset) pairs; the Delta and Kafka readers live elsewhere.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

OffsetRange = tuple[int, int]  # [from, to)


def compress_offsets(offsets: Iterable[int], limit: int = 12) -> str:
    """``[1, 2, 3, 7, 9, 10]`` -> ``"1-3, 7, 9-10"`` (at most ``limit`` runs shown)."""
    runs: list[list[int]] = []
    for offset in sorted(set(offsets)):
        if runs and offset == runs[-1][1] + 1:
            runs[-1][1] = offset
        else:
            runs.append([offset, offset])
    shown = [f"{a}" if a == b else f"{a}-{b}" for a, b in runs[:limit]]
    if len(runs) > limit:
        shown.append(f"... ({len(runs) - limit} more runs)")
    return ", ".join(shown)


@dataclass
class PartitionReconciliation:
    partition: int
    expected: OffsetRange
    present: int = 0
    missing: list[int] = field(default_factory=list)
    duplicated: dict[int, int] = field(default_factory=dict)  # offset -> times seen

    @property
    def ok(self) -> bool:
        return not self.missing and not self.duplicated


@dataclass
class Reconciliation:
    topic: str
    partitions: list[PartitionReconciliation]
    outside_range: int = 0

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.partitions)

    @property
    def expected_total(self) -> int:
        return sum(p.expected[1] - p.expected[0] for p in self.partitions)

    def summary(self) -> dict:
        return {
            "topic": self.topic,
            "ok": self.ok,
            "expected": self.expected_total,
            "present": sum(p.present for p in self.partitions),
            "missing": sum(len(p.missing) for p in self.partitions),
            "duplicated": sum(n - 1 for p in self.partitions for n in p.duplicated.values()),
            "outside_range": self.outside_range,
            "partitions": {
                str(p.partition): {
                    "from": p.expected[0],
                    "to": p.expected[1],
                    "present": p.present,
                    "missing": len(p.missing),
                    "duplicated": len(p.duplicated),
                }
                for p in self.partitions
            },
        }

    def message(self, where: str) -> str:
        if self.ok:
            return (
                f"{where}: every offset of {self.topic} in the expected ranges is present "
                f"exactly once ({self.expected_total} records)"
            )
        lines = [f"{where} does not hold {self.topic} exactly once:"]
        for p in self.partitions:
            if p.ok:
                continue
            problems = []
            if p.missing:
                problems.append(f"{len(p.missing)} missing offsets ({compress_offsets(p.missing)})")
            if p.duplicated:
                problems.append(
                    f"{len(p.duplicated)} duplicated offsets ({compress_offsets(p.duplicated)})"
                )
            lines.append(
                f"  partition {p.partition}, expected offsets [{p.expected[0]}, {p.expected[1]}): "
                + "; ".join(problems)
            )
        return "\n".join(lines)


def reconcile_offsets(
    topic: str, observed: Iterable[tuple[int, int]], expected: dict[int, OffsetRange]
) -> Reconciliation:
    """Compare (partition, offset) pairs against ``expected[partition] = [from, to)``."""
    counts = Counter(observed)
    outside = 0
    by_partition: dict[int, Counter] = {p: Counter() for p in expected}
    for (partition, offset), times in counts.items():
        low, high = expected.get(partition, (0, 0))
        if partition in expected and low <= offset < high:
            by_partition[partition][offset] = times
        else:
            outside += times
    results = []
    for partition, (low, high) in sorted(expected.items()):
        seen = by_partition[partition]
        results.append(
            PartitionReconciliation(
                partition=partition,
                expected=(low, high),
                present=len(seen),
                missing=[o for o in range(low, high) if o not in seen],
                duplicated={o: n for o, n in seen.items() if n > 1},
            )
        )
    return Reconciliation(topic, results, outside)


def sequence_digest(records: Iterable[tuple[int, str]]) -> str:
    """A digest of a partition's (offset, event id) sequence, in offset order."""
    digest = hashlib.sha256()
    for offset, event_id in sorted(records):
        digest.update(f"{offset}:{event_id}\n".encode())
    return digest.hexdigest()
