"""Partition leadership and replication as Kafka's metadata reports them, and what it means.

Pure functions over ``PartitionState`` (leader, replicas, in-sync replicas of one
partition): the failover drill's sensors and checks judge a cluster with them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

# Kafka's leader id of a partition that has none: every replica that could lead is down.
NO_LEADER = -1

Condition = Literal["leaders_moved", "under_replicated", "fully_replicated"]


@dataclass(frozen=True)
class PartitionState:
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]

    @property
    def offline(self) -> bool:
        return self.leader == NO_LEADER

    @property
    def under_replicated(self) -> bool:
        return len(self.isr) < len(self.replicas)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "replicas": list(self.replicas), "isr": list(self.isr)}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> PartitionState:
        return cls(
            int(raw["partition"]),
            int(raw["leader"]),
            tuple(int(r) for r in raw["replicas"]),
            tuple(int(r) for r in raw["isr"]),
        )


class NotAReplicatedCluster(ValueError):
    """The failover drill's precondition: a broker can be lost without losing a partition."""


def busiest_leader(states: Sequence[PartitionState]) -> int:
    """The broker that leads the most partitions; the lowest id among equals."""
    led = Counter(s.leader for s in states if not s.offline)
    if not led:
        raise NotAReplicatedCluster("no partition has a leader")
    most = max(led.values())
    return min(broker for broker, count in led.items() if count == most)


def led_by(states: Iterable[PartitionState], broker: int) -> list[int]:
    return sorted(s.partition for s in states if s.leader == broker)


def require_replicated(
    topic: str, states: Sequence[PartitionState], brokers: int, min_replicas: int = 3
) -> None:
    """Raise, naming what is missing, unless every partition can lose one broker."""
    if brokers < min_replicas:
        raise NotAReplicatedCluster(
            f"the cluster has {brokers} broker(s); the failover drill needs {min_replicas}: "
            "run `./lab up --brokers 3`"
        )
    thin = [s for s in states if len(s.replicas) < min_replicas]
    if thin:
        described = ", ".join(f"partition {s.partition} ({len(s.replicas)} replicas)" for s in thin)
        raise NotAReplicatedCluster(
            f"topic {topic} has partitions with fewer than {min_replicas} replicas: "
            f"{described}; losing their broker loses them"
        )
    lagging = [s for s in states if s.under_replicated or s.offline]
    if lagging:
        raise NotAReplicatedCluster(
            f"topic {topic} is not fully replicated before the drill: " + describe(lagging)
        )


def condition_holds(condition: Condition, states: Sequence[PartitionState], broker: int) -> bool:
    """``leaders_moved``: every partition has a leader other than ``broker``, from its ISR.
    ``under_replicated``: some partition has lost ``broker`` from its ISR.
    ``fully_replicated``: every partition has a leader and all its replicas in sync."""
    if not states:
        return False
    if condition == "leaders_moved":
        return all(not s.offline and s.leader != broker and s.leader in s.isr for s in states)
    if condition == "under_replicated":
        return any(broker in s.replicas and broker not in s.isr for s in states)
    return all(not s.offline and not s.under_replicated for s in states)


def describe(states: Iterable[PartitionState]) -> str:
    """``partition 0: leader 2, ISR [2, 3] of replicas [1, 2, 3]; ...`` (offline named)."""
    return "; ".join(
        f"partition {s.partition}: "
        + ("no leader (offline)" if s.offline else f"leader {s.leader}")
        + f", ISR {list(s.isr)} of replicas {list(s.replicas)}"
        for s in states
    )


def ingest_dip(
    acknowledged_per_second: Mapping[str, Any], outage_from: float, outage_to: float
) -> dict[str, Any]:
    """What the producers saw of an outage, from their acknowledgements per second.

    The baseline is the median of the whole seconds before ``outage_from`` (the first
    second of the series is partial and left out); the outage covers the seconds from
    ``outage_from`` to ``outage_to``. All in Unix time.
    """
    start, counts = (
        acknowledged_per_second.get("start"),
        list(acknowledged_per_second.get("counts") or []),
    )
    if start is None:
        return {
            "baseline_events_per_s": None,
            "lowest_events_per_s": None,
            "dip_percent": None,
            "seconds_without_acknowledgement": None,
            "acknowledged_during_outage": 0,
        }
    seconds = {int(start) + i: n for i, n in enumerate(counts)}
    before = sorted(n for s, n in seconds.items() if int(start) < s < int(outage_from))
    window = [seconds.get(s, 0) for s in range(int(outage_from), int(outage_to) + 1)]
    baseline = before[len(before) // 2] if before else None
    lowest = min(window) if window else None
    dip = (
        round(100.0 * (baseline - lowest) / baseline, 1)
        if baseline and lowest is not None
        else None
    )
    return {
        "baseline_events_per_s": baseline,
        "lowest_events_per_s": lowest,
        "dip_percent": dip,
        "seconds_without_acknowledgement": sum(1 for n in window if n == 0),
        "acknowledged_during_outage": sum(window),
    }


def replica_plan(
    states: Sequence[PartitionState], replicas: int, brokers: Sequence[int]
) -> dict[int, list[int]]:
    """New replica lists with ``replicas`` replicas each, for partitions that have another
    count: the leader stays first (no leadership moves), others follow in broker order."""
    plan = {}
    for s in states:
        if len(s.replicas) == replicas:
            continue
        first = s.leader if s.leader != NO_LEADER else s.replicas[0]
        others = [b for b in (*s.replicas, *brokers) if b != first]
        plan[s.partition] = list(dict.fromkeys([first, *others]))[:replicas]
    return plan


def reassignment_json(topic: str, plan: Mapping[int, Sequence[int]]) -> dict[str, Any]:
    """`kafka-reassign-partitions --reassignment-json-file`'s document for ``plan``."""
    return {
        "version": 1,
        "partitions": [
            {"topic": topic, "partition": p, "replicas": list(r)} for p, r in sorted(plan.items())
        ],
    }
