"""A streaming job's throughput from its own per-batch progress.

The first batch that reads rows pays for code generation, class loading and the
table's creation; every later one is the steady state. Rates come from the batches'
own durations (Spark's ``triggerExecution``: trigger to committed table version and
checkpoint), so idle time between triggers does not count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# (rows, seconds) of one micro-batch.
Batch = tuple[int, float]


def _rate(batches: Sequence[Batch]) -> float | None:
    seconds = sum(s for _, s in batches)
    return round(sum(r for r, _ in batches) / seconds, 1) if seconds > 0 else None


def steady_rate(batches: Sequence[Batch]) -> float | None:
    """Rows per second of the batches after the first that read rows; None without any."""
    return _rate([b for b in batches if b[0] > 0][1:])


def throughput(batches: Sequence[Batch]) -> dict[str, Any]:
    """The first batch apart from the steady state, and the whole run beside them."""
    read = [b for b in batches if b[0] > 0]
    first, steady = (read[0], read[1:]) if read else (None, [])
    return {
        "first_batch_rows": first[0] if first else None,
        "first_batch_s": round(first[1], 2) if first else None,
        "steady_batches": len(steady),
        "steady_rows": sum(r for r, _ in steady),
        "steady_s": round(sum(s for _, s in steady), 2),
        "steady_rows_per_s": steady_rate(read),
        "total_rows": sum(r for r, _ in read),
        "total_s": round(sum(s for _, s in read), 2),
        "total_rows_per_s": _rate(read),
    }
