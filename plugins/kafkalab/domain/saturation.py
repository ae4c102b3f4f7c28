"""Which side of a benchmark is the limit: the cores each process used over a phase.

CPython runs Python code on one core at a time (the GIL), so a process whose Python
threads together keep about one core busy cannot go faster however many cores the
machine has. Native threads (librdkafka's ``rdk:*``, libuv's workers) run outside the
GIL: they count towards the process's cores, not towards its Python limit. On a small
machine the box itself can be the limit first: broker, ingestor and generator share it.
"""

from __future__ import annotations

from collections.abc import Mapping

# Python threads above this share of one core: the process waits on its own GIL.
PYTHON_LIMIT_CORES = 0.9
# All cores this busy: every process (the broker too) waits for a core.
MACHINE_BUSY_SHARE = 0.9


def cores_used(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU seconds over a phase's wall seconds: how many cores were kept busy on average."""
    return round(cpu_seconds / wall_seconds, 2) if wall_seconds > 0 else 0.0


def saturated_sides(
    python_cores: Mapping[str, float], machine_cores_used: float, machine_cores: int
) -> list[str]:
    """The processes at their Python limit, then ``machine`` when every core was busy."""
    sides = [side for side, cores in python_cores.items() if cores >= PYTHON_LIMIT_CORES]
    if machine_cores_used >= MACHINE_BUSY_SHARE * machine_cores:
        sides.append("machine")
    return sides
