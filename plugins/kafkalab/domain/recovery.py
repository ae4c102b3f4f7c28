"""The DR drill's verdicts: a pause that held, the events recovered, RPO and RTO.

The definitions, as the report states them (``DEFINITIONS``):

- **Window at risk**: what the stopped consumer had not processed when the source
  stopped: the records between its last committed offsets at the pause and the
  recovery point (the end offsets once the generator stopped), and the time from the
  pause to the recovery point.
- **RPO** (recovery point objective, as met): acknowledged events of the generator run
  that are missing from the recovered table. A record of the run that the replay
  quarantined is missing too: it was not recovered. Must be 0.
- **RTO** (recovery time objective, as met): from the replay's start request, the JVM's
  start-up included, to the first lag snapshot showing its group at the recovery point.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafkalab.domain.offsets import Offsets

DEFINITIONS = {
    "window_at_risk": (
        "records after the paused consumer's last committed offsets up to the recovery "
        "point (end offsets once the generator stopped), and the seconds from the pause "
        "to the recovery point"
    ),
    "rpo": (
        "acknowledged events of the generator run missing from the recovered table; a "
        "quarantined record of the run counts as missing (must be 0)"
    ),
    "rto": (
        "seconds from the replay's start request (JVM start-up included) to the first lag "
        "snapshot with its group at the recovery point"
    ),
}


@dataclass(frozen=True)
class JobProgress:
    """A streaming job's progress as others see it: its group's committed offsets on the
    topic and its Delta table's newest version (None: no table yet)."""

    committed: Offsets
    table_version: int | None
    taken_at: float


def moved_offsets(before: Offsets, after: Offsets) -> dict[int, tuple[int | None, int | None]]:
    """Partition -> (before, after) for every partition whose committed offset changed."""
    return {
        p: (before.get(p), after.get(p))
        for p in sorted(set(before) | set(after))
        if before.get(p) != after.get(p)
    }


def pause_failure(job: str, at_pause: JobProgress, later: JobProgress) -> str | None:
    """None when neither the group's committed offsets nor the table moved while paused."""
    problems = []
    moved = moved_offsets(at_pause.committed, later.committed)
    if moved:
        problems.append(
            "its group's committed offsets moved: "
            + ", ".join(f"partition {p} {a} -> {b}" for p, (a, b) in moved.items())
        )
    if later.table_version != at_pause.table_version:
        problems.append(
            f"its Delta table went from version {at_pause.table_version} to {later.table_version}"
        )
    if not problems:
        return None
    seconds = later.taken_at - at_pause.taken_at
    return (
        f"the paused Spark job {job} did not stay paused: in the {seconds:.0f}s after the "
        "pause\n  " + "\n  ".join(problems)
    )


@dataclass
class RecoveredEvents:
    """A generator run's acknowledged events against what the recovered table holds.

    ``recovered`` counts the run's ids among the table's valid rows; ``quarantined``
    maps the run's ids found in the quarantine table to the replay's reason.
    """

    topic: str
    acknowledged: set[str]
    recovered: Counter = field(default_factory=Counter)
    quarantined: dict[str, str] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        return sorted(self.acknowledged - set(self.recovered))

    @property
    def duplicated(self) -> dict[str, int]:
        return {i: n for i, n in sorted(self.recovered.items()) if n > 1}

    def problems(self) -> list[str]:
        problems = []
        missing = self.missing
        if missing:
            quarantined = [i for i in missing if i in self.quarantined]
            problems.append(
                f"RPO is {len(missing)}, not 0: {len(missing)} of the {len(self.acknowledged)} "
                f"acknowledged events are not in the recovered table, e.g. {missing[:3]}"
            )
            if quarantined:
                reasons = Counter(self.quarantined[i] for i in quarantined)
                problems.append(
                    f"{len(quarantined)} of them were quarantined by the replay: "
                    + "; ".join(f"{n} × {reason}" for reason, n in reasons.most_common(3))
                )
        quarantined_too = sorted(set(self.quarantined) - set(missing))
        if quarantined_too:
            problems.append(
                f"{len(quarantined_too)} events of the run are in the quarantine table as "
                f"well as recovered, e.g. {quarantined_too[:3]}"
            )
        if self.duplicated:
            problems.append(
                f"{len(self.duplicated)} events are in the recovered table more than once, "
                f"e.g. {list(self.duplicated)[:3]}"
            )
        return problems

    def figures(self) -> dict[str, Any]:
        return {
            "acknowledged": len(self.acknowledged),
            "recovered": len(set(self.recovered) & self.acknowledged),
            "lost": len(self.missing),
            "quarantined": len(self.quarantined),
            "duplicated": len(self.duplicated),
        }


def tally_recovered(
    topic: str,
    acknowledged: set[str],
    recovered_ids: Iterable[str],
    quarantined: Iterable[tuple[str, str]],
) -> RecoveredEvents:
    """``quarantined``: (event id, reason) of the run's records in the quarantine table."""
    return RecoveredEvents(topic, acknowledged, Counter(recovered_ids), dict(quarantined))


def window_at_risk(
    committed_at_pause: Offsets, recovery_point: Offsets, paused_at: float, recovery_at: float
) -> dict[str, Any]:
    records = sum(max(0, end - committed_at_pause.get(p, 0)) for p, end in recovery_point.items())
    return {"records": records, "seconds": round(max(0.0, recovery_at - paused_at), 3)}


def recovery_time(requested_at: float, reached_at: float) -> float:
    return round(reached_at - requested_at, 3)


def objectives_failure(
    recovered: RecoveredEvents,
    window: Mapping[str, Any],
    rto_seconds: float,
    objectives: Mapping[str, float],
) -> str | None:
    """RPO must be 0; the window at risk and the RTO within the run's objectives
    (``max_window_at_risk_seconds``, ``max_rto_seconds``)."""
    problems = recovered.problems()
    if window["seconds"] > objectives["max_window_at_risk_seconds"]:
        problems.append(
            f"the window at risk was {window['seconds']:.0f}s ({window['records']} records), "
            f"over the objective of {objectives['max_window_at_risk_seconds']:.0f}s"
        )
    if rto_seconds > objectives["max_rto_seconds"]:
        problems.append(
            f"RTO was {rto_seconds:.1f}s, over the objective of "
            f"{objectives['max_rto_seconds']:.0f}s"
        )
    if not problems:
        return None
    return f"recovery of {recovered.topic} missed its objectives:\n  " + "\n  ".join(problems)
