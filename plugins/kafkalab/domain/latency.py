"""Percentiles, and request latencies kept in bounded memory.

A generator run of hours sends millions of requests, so it cannot keep every latency.
It keeps a uniform random sample of fixed size (reservoir sampling, Vitter's
algorithm R: every request so far has the same chance to be in the sample) plus the
exact count and maximum. 10,000 samples put about 100 of them above the p99, enough
for a benchmark's figure; the maximum, which a sample would mostly miss, is exact.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

SAMPLE_SIZE = 10_000


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value ``fraction`` (0 to 1) of the way through the sorted values (nearest rank)."""
    if not values:
        raise ValueError("a percentile of no values")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class LatencyReservoir:
    """Every recorded latency counts; at most ``size`` of them are kept, a uniform sample."""

    def __init__(self, size: int = SAMPLE_SIZE, rng: random.Random | None = None) -> None:
        if size < 1:
            raise ValueError("the sample needs room for at least one latency")
        self.size = size
        self.samples: list[float] = []
        self.count = 0
        self.maximum: float | None = None
        # Seeded: the same run keeps the same sample, and the generator's own random
        # draws (backoff jitter) stay independent of how many latencies were recorded.
        self.rng = rng or random.Random(0)

    def record(self, seconds: float) -> None:
        self.count += 1
        self.maximum = seconds if self.maximum is None else max(self.maximum, seconds)
        if len(self.samples) < self.size:
            self.samples.append(seconds)
            return
        # The n-th latency replaces a kept one with probability size/n.
        slot = self.rng.randrange(self.count)
        if slot < self.size:
            self.samples[slot] = seconds

    def percentile_ms(self, fraction: float) -> float | None:
        if not self.samples:
            return None
        return round(percentile(self.samples, fraction) * 1000, 2)

    def figures(self) -> dict[str, Any]:
        """Requests timed, p50/p99 of the sample and the exact maximum, in milliseconds."""
        return {
            "requests": self.count,
            "p50_ms": self.percentile_ms(0.50),
            "p99_ms": self.percentile_ms(0.99),
            "max_ms": None if self.maximum is None else round(self.maximum * 1000, 2),
        }
