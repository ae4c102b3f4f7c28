"""What the benchmarks in ``bench/`` share: the machine, CPU per side, a sweep's files.

A benchmark's figures mean little without the machine they came from and without
knowing which process was the limit; both benchmarks report them the same way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from kafkalab.domain.saturation import cores_used, saturated_sides


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
    }


def python_thread_seconds(process: psutil.Process) -> dict[int, float]:
    """CPU seconds so far of each thread that runs Python code, by thread id.

    Native libraries name their threads (librdkafka ``rdk:main``, libuv ``libuv-worker``);
    CPython 3.11 leaves its threads with the process's name, the main thread's.
    """
    task = Path(f"/proc/{process.pid}/task")

    def name(thread_id: int) -> str | None:
        try:
            return (task / str(thread_id) / "comm").read_text().strip()
        except OSError:  # the thread ended since the listing
            return None

    main_name = name(process.pid)
    return {
        thread.id: thread.user_time + thread.system_time
        for thread in process.threads()
        if name(thread.id) == main_name
    }


def machine_busy_seconds() -> float:
    """CPU seconds so far of all cores together, doing anything but waiting."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


@dataclass(frozen=True)
class CpuReading:
    wall: float
    process_seconds: dict[str, float]
    python_thread_seconds: dict[str, dict[int, float]]
    machine_busy_seconds: float


class CpuMeter:
    """Cores used by each named process (and by the machine) between two readings."""

    def __init__(self, processes: Mapping[str, psutil.Process]) -> None:
        self.processes = dict(processes)

    def read(self) -> CpuReading:
        return CpuReading(
            wall=time.monotonic(),
            process_seconds={
                side: process.cpu_times().user + process.cpu_times().system
                for side, process in self.processes.items()
            },
            python_thread_seconds={
                side: python_thread_seconds(process) for side, process in self.processes.items()
            },
            machine_busy_seconds=machine_busy_seconds(),
        )

    def usage(
        self, before: CpuReading, after: CpuReading, machine_cores: int | None = None
    ) -> dict[str, Any]:
        """Per side: cores of the whole process and of its Python threads; which is the limit.

        A thread that ended during the phase is missing from the Python figure, not from
        the process's.
        """
        wall = after.wall - before.wall
        sides: dict[str, Any] = {}
        for side in self.processes:
            earlier = before.python_thread_seconds[side]
            python_seconds = sum(
                seconds - earlier.get(thread_id, 0.0)
                for thread_id, seconds in after.python_thread_seconds[side].items()
            )
            sides[side] = {
                "cores": cores_used(
                    after.process_seconds[side] - before.process_seconds[side], wall
                ),
                "python_cores": cores_used(python_seconds, wall),
            }
        busy = cores_used(after.machine_busy_seconds - before.machine_busy_seconds, wall)
        return {
            "sides": sides,
            "machine_cores": busy,
            "saturated": saturated_sides(
                {side: figures["python_cores"] for side, figures in sides.items()},
                busy,
                machine_cores or os.cpu_count() or 1,
            ),
        }


def saturation_text(usage: Mapping[str, Any]) -> str:
    """``generator 0.97/1.02 cores (Python/all), ...; saturated: generator`` for a human line."""
    per_side = ", ".join(
        f"{side} {figures['python_cores']:.2f}/{figures['cores']:.2f}"
        for side, figures in usage["sides"].items()
    )
    limit = "+".join(usage["saturated"]) or "none"
    machine_cores = usage["machine_cores"]
    return f"cores (Python/all) {per_side}, machine {machine_cores:.2f}; saturated: {limit}"


# One panel of a sweep's plot: its y-axis label and a line per series (None: no value).
Panel = tuple[str, Mapping[str, Sequence[float | None]]]


def save_sweep(
    directory: Path,
    name: str,
    document: dict[str, Any],
    x_label: str,
    x_values: Sequence[float],
    panels: Sequence[Panel],
) -> dict[str, str]:
    """The sweep's JSON and a PNG of ``panels`` against ``x_values``, side by side.

    Both files share a timestamped stem, so sweeps accumulate instead of overwriting.
    """
    # Headless: no display on a server, and no GUI toolkit among the dependencies.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{name}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    files = {"json": str(directory / f"{stem}.json"), "plot": str(directory / f"{stem}.png")}

    figure, axes = plt.subplots(len(panels), 1, figsize=(7, 3.2 * len(panels)), squeeze=False)
    for axis, (y_label, series) in zip(axes[:, 0], panels, strict=True):
        for label, values in series.items():
            points = [(x, y) for x, y in zip(x_values, values, strict=True) if y is not None]
            axis.plot([x for x, _ in points], [y for _, y in points], marker="o", label=label)
        axis.set_ylabel(y_label)
        axis.grid(True, alpha=0.3)
        axis.legend()
    axes[-1, 0].set_xlabel(x_label)
    figure.suptitle(name)
    figure.tight_layout()
    figure.savefig(files["plot"], dpi=100)
    plt.close(figure)

    Path(files["json"]).write_text(json.dumps({**document, "files": files}, indent=2))
    return files
