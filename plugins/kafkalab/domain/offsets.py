"""Offsets per partition, the lab's unit of "how far": snapshots, targets, commits.

Tasks hand them to each other through XCom, where JSON has turned the partition
numbers into strings; ``offsets_for`` turns either shape back into ``Offsets``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# partition -> offset (the next record to read, as Kafka counts)
Offsets = dict[int, int]


def offsets_for(topic: str, value: Mapping[Any, Any] | None) -> Offsets | None:
    """Accept ``{partition: offset}`` or a snapshot ``{"topics": {topic: {...}}}``."""
    if value is None:
        return None
    if "topics" in value:
        value = value["topics"][topic]
    return {int(p): int(o) for p, o in value.items()}
