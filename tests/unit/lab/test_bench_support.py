"""What the benchmarks share: cores per side from two CPU readings, a sweep's files."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import psutil

from kafkalab.lab.bench import (
    CpuMeter,
    CpuReading,
    python_thread_seconds,
    saturation_text,
    save_sweep,
)


def test_the_calling_thread_counts_as_a_python_thread() -> None:
    assert threading.get_native_id() in python_thread_seconds(psutil.Process())


def reading(wall: float, process: float, threads: dict[int, float], busy: float) -> CpuReading:
    return CpuReading(wall, {"ingestor": process}, {"ingestor": threads}, busy)


def test_cores_per_side_come_from_the_difference_of_two_readings() -> None:
    meter = CpuMeter({"ingestor": psutil.Process()})
    before = reading(10.0, 5.0, {1: 4.0, 2: 1.0}, 100.0)
    # Thread 3 started during the phase; the process's native threads used 1 s more.
    after = reading(12.0, 8.0, {1: 5.5, 2: 1.0, 3: 0.4}, 103.9)
    usage = meter.usage(before, after, machine_cores=2)
    assert usage == {
        "sides": {"ingestor": {"cores": 1.5, "python_cores": 0.95}},
        "machine_cores": 1.95,
        "saturated": ["ingestor", "machine"],
    }
    assert saturation_text(usage) == (
        "cores (Python/all) ingestor 0.95/1.50, machine 1.95; saturated: ingestor+machine"
    )


def test_a_sweep_leaves_its_json_and_plot_side_by_side(tmp_path: Path) -> None:
    files = save_sweep(
        tmp_path / "bench",
        "ingest-sweep",
        {"points": [1, 2]},
        "offered (ev/s)",
        [1000, 3000],
        [("latency (ms)", {"p50": [1.0, 2.0], "p99": [5.0, None]})],
    )
    assert Path(files["plot"]).read_bytes().startswith(b"\x89PNG")
    assert Path(files["json"]).with_suffix(".png") == Path(files["plot"])
    assert json.loads(Path(files["json"]).read_text()) == {"points": [1, 2], "files": files}
