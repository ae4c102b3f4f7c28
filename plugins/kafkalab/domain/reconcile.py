"""Reconciling what a consumer wrote against what Kafka holds: exactly once, per partition.

Pure logic over (partition, offset[, event id]) rows; the Delta and Kafka readers live
elsewhere.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
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
    before_range: list[int] = field(default_factory=list)  # rows the range does not cover
    after_range: list[int] = field(default_factory=list)
    earlier: int = 0  # rows before the range, tolerated (see reconcile_records)
    later: int = 0  # rows after the range, tolerated
    missing_ids: list[int] = field(default_factory=list)  # offsets whose row has no id
    wrong_ids: dict[int, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (
            self.missing
            or self.duplicated
            or self.before_range
            or self.after_range
            or self.missing_ids
            or self.wrong_ids
        )

    def problems(self) -> list[str]:
        problems = []
        if self.missing:
            problems.append(
                f"{len(self.missing)} missing offsets ({compress_offsets(self.missing)})"
            )
        if self.duplicated:
            problems.append(
                f"{len(self.duplicated)} duplicated offsets ({compress_offsets(self.duplicated)})"
            )
        if self.before_range:
            problems.append(
                f"{len(self.before_range)} rows before the range "
                f"(offsets {compress_offsets(self.before_range)})"
            )
        if self.after_range:
            problems.append(
                f"{len(self.after_range)} rows after the range "
                f"(offsets {compress_offsets(self.after_range)})"
            )
        if self.missing_ids:
            problems.append(
                f"{len(self.missing_ids)} rows without an event id "
                f"(offsets {compress_offsets(self.missing_ids)})"
            )
        if self.wrong_ids:
            shown = "; ".join(
                f"offset {offset}: {seen!r} in the table, {kafka!r} in Kafka"
                for offset, (seen, kafka) in sorted(self.wrong_ids.items())[:3]
            )
            more = f"; ... ({len(self.wrong_ids) - 3} more)" if len(self.wrong_ids) > 3 else ""
            problems.append(
                f"{len(self.wrong_ids)} rows whose event id is not the one Kafka holds at "
                f"their offset ({shown}{more})"
            )
        return problems


@dataclass
class Reconciliation:
    topic: str
    partitions: list[PartitionReconciliation]
    # Rows on partitions the expected ranges do not name: partition -> their offsets.
    unexpected_partitions: dict[int, list[int]] = field(default_factory=dict)
    # Event ids found at more than one (partition, offset) of the ranges.
    repeated_ids: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    ids_checked: bool = False

    @property
    def ok(self) -> bool:
        return (
            all(p.ok for p in self.partitions)
            and not self.unexpected_partitions
            and not self.repeated_ids
        )

    @property
    def expected_total(self) -> int:
        return sum(p.expected[1] - p.expected[0] for p in self.partitions)

    @property
    def outside_range(self) -> int:
        """Rows that fail the check for being where the ranges say nothing should be."""
        return sum(len(p.before_range) + len(p.after_range) for p in self.partitions) + sum(
            len(offsets) for offsets in self.unexpected_partitions.values()
        )

    def summary(self) -> dict:
        return {
            "topic": self.topic,
            "ok": self.ok,
            "expected": self.expected_total,
            "present": sum(p.present for p in self.partitions),
            "missing": sum(len(p.missing) for p in self.partitions),
            "duplicated": sum(n - 1 for p in self.partitions for n in p.duplicated.values()),
            "outside_range": self.outside_range,
            "earlier_tolerated": sum(p.earlier for p in self.partitions),
            "later_tolerated": sum(p.later for p in self.partitions),
            "ids_checked": self.ids_checked,
            "missing_ids": sum(len(p.missing_ids) for p in self.partitions),
            "wrong_ids": sum(len(p.wrong_ids) for p in self.partitions),
            "repeated_ids": len(self.repeated_ids),
            "partitions": {
                str(p.partition): {
                    "from": p.expected[0],
                    "to": p.expected[1],
                    "present": p.present,
                    "missing": len(p.missing),
                    "duplicated": len(p.duplicated),
                    "outside_range": len(p.before_range) + len(p.after_range),
                }
                for p in self.partitions
            },
        }

    def message(self, where: str) -> str:
        if self.ok:
            checked = " with the event ids Kafka holds" if self.ids_checked else ""
            return (
                f"{where}: every offset of {self.topic} in the expected ranges is present "
                f"exactly once{checked} ({self.expected_total} records)"
            )
        lines = [f"{where} does not hold {self.topic} exactly once:"]
        for p in self.partitions:
            if not p.ok:
                lines.append(
                    f"  partition {p.partition}, expected offsets [{p.expected[0]}, "
                    f"{p.expected[1]}): " + "; ".join(p.problems())
                )
        expected = ", ".join(str(p.partition) for p in self.partitions) or "none"
        for partition, offsets in sorted(self.unexpected_partitions.items()):
            lines.append(
                f"  partition {partition}, not one of the expected partitions ({expected}): "
                f"{len(offsets)} rows (offsets {compress_offsets(offsets)})"
            )
        if self.repeated_ids:
            shown = "; ".join(
                f"{event_id!r} at " + ", ".join(f"{p}:{o}" for p, o in places)
                for event_id, places in sorted(self.repeated_ids.items())[:3]
            )
            lines.append(
                f"  {len(self.repeated_ids)} event ids at more than one offset ({shown}): "
                "the same event was published more than once"
            )
        if self.outside_range:
            lines.append(
                "  Rows outside the expected ranges were written from offsets nobody asked "
                "for: look at the job's starting offsets and whether another run wrote to "
                "this table."
            )
        return "\n".join(lines)


def reconcile_offsets(
    topic: str,
    observed: Iterable[tuple[int, int]],
    expected: dict[int, OffsetRange],
    *,
    earlier_allowed: bool = False,
    later_allowed: bool = False,
) -> Reconciliation:
    """Compare (partition, offset) pairs against ``expected[partition] = [from, to)``."""
    return reconcile_records(
        topic,
        ((partition, offset, None) for partition, offset in observed),
        expected,
        earlier_allowed=earlier_allowed,
        later_allowed=later_allowed,
    )


def reconcile_records(
    topic: str,
    rows: Iterable[tuple[int, int, str | None]],
    expected: dict[int, OffsetRange],
    *,
    kafka_ids: Mapping[tuple[int, int], str | None] | None = None,
    earlier_allowed: bool = False,
    later_allowed: bool = False,
) -> Reconciliation:
    """Compare (partition, offset, event id) rows against ``expected[partition] = [from, to)``.

    Every offset of each range must be there exactly once. A row outside the ranges
    is a failure too: before a range, after it, or on a partition the ranges do not
    name. Two sides can be tolerated, and are then only counted: ``later_allowed``
    for a job that was still consuming when the range was fixed (its rows after the
    end are later records), ``earlier_allowed`` when the range starts at Kafka's
    earliest retained offset (rows before it were consumed, then deleted by
    retention).

    With ``kafka_ids`` ((partition, offset) -> the event id of Kafka's record there),
    ids are checked too: every row in range carries the id Kafka holds at its offset,
    and no id is at two offsets.
    """
    rows = list(rows)
    counts = Counter((partition, offset) for partition, offset, _ in rows)
    results = {
        partition: PartitionReconciliation(partition=partition, expected=(low, high))
        for partition, (low, high) in sorted(expected.items())
    }
    unexpected: dict[int, list[int]] = {}
    for (partition, offset), times in sorted(counts.items()):
        result = results.get(partition)
        if result is None:
            unexpected.setdefault(partition, []).extend([offset] * times)
            continue
        low, high = result.expected
        if offset < low:
            if earlier_allowed:
                result.earlier += times
            else:
                result.before_range.extend([offset] * times)
        elif offset >= high:
            if later_allowed:
                result.later += times
            else:
                result.after_range.extend([offset] * times)
        elif times > 1:
            result.duplicated[offset] = times
    for result in results.values():
        low, high = result.expected
        result.present = sum(1 for o in range(low, high) if (result.partition, o) in counts)
        result.missing = [o for o in range(low, high) if (result.partition, o) not in counts]

    repeated: dict[str, list[tuple[int, int]]] = {}
    if kafka_ids is not None:
        places: dict[str, set[tuple[int, int]]] = {}
        for partition, offset, event_id in rows:
            result = results.get(partition)
            if result is None or not result.expected[0] <= offset < result.expected[1]:
                continue
            in_kafka = kafka_ids.get((partition, offset))
            if event_id is None and in_kafka is not None:
                result.missing_ids.append(offset)
            elif event_id != in_kafka:
                result.wrong_ids[offset] = (event_id, in_kafka)
            if event_id is not None:
                places.setdefault(event_id, set()).add((partition, offset))
        repeated = {i: sorted(where) for i, where in places.items() if len(where) > 1}
        for result in results.values():
            result.missing_ids.sort()
    return Reconciliation(
        topic, list(results.values()), unexpected, repeated, ids_checked=kafka_ids is not None
    )


def sequence_digest(records: Iterable[tuple[int, str]]) -> str:
    """A digest of a partition's (offset, event id) sequence, in offset order."""
    digest = hashlib.sha256()
    for offset, event_id in sorted(records):
        digest.update(f"{offset}:{event_id}\n".encode())
    return digest.hexdigest()
