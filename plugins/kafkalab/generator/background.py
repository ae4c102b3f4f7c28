"""Generator runs that outlive the task that started them.

The DR drill starts the generator in one Airflow task and stops it several tasks
later, possibly from another worker process: the run is a recorded process (see
``kafkalab.lab.stack.process``) that rewrites a JSON status file as it goes.
"""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from kafkalab.generator.config import GeneratorConfig
from kafkalab.generator.status import read_status
from kafkalab.lab.stack.environment import child_environment
from kafkalab.lab.stack.process import ProcessRegistry
from kafkalab.settings import REPO_ROOT, LabSettings

SIMULATE_DATA = REPO_ROOT / "generators" / "simulate_data.py"


class GeneratorRunNotFound(LookupError):
    pass


@dataclass
class BackgroundStatus:
    run_id: str
    running: bool
    summary: dict | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _registry(settings: LabSettings) -> ProcessRegistry:
    return ProcessRegistry(settings.paths.run, settings.paths.logs)


def _process_name(run_id: str) -> str:
    return f"generator-{run_id}"


def status_file(settings: LabSettings, run_id: str) -> Path:
    return settings.paths.run / "generator" / f"{run_id}.json"


def start_background_run(
    settings: LabSettings, run_id: str, config: GeneratorConfig
) -> BackgroundStatus:
    """Start a detached ``simulate_data.py`` as run ``run_id``; returns once it has begun.

    The config is validated here, so a wrong one fails before any process starts.
    """
    registry = _registry(settings)
    if registry.running(_process_name(run_id)):
        raise RuntimeError(f"generator run {run_id} is already running")
    path = status_file(settings, run_id)
    path.unlink(missing_ok=True)
    config = replace(config, run_id=run_id, status_file=path, progress_every=2)
    config.validate()
    command = [sys.executable, str(SIMULATE_DATA), *config.to_args()]
    registry.start(_process_name(run_id), command, env=child_environment(settings), cwd=REPO_ROOT)
    deadline = time.monotonic() + 30
    while not path.exists() and time.monotonic() < deadline:
        if not registry.running(_process_name(run_id)):
            log = registry.log_path(_process_name(run_id))
            raise RuntimeError(f"generator run {run_id} exited at start; see {log}")
        time.sleep(0.2)
    return background_status(settings, run_id)


def background_status(settings: LabSettings, run_id: str) -> BackgroundStatus:
    path = status_file(settings, run_id)
    running = _registry(settings).running(_process_name(run_id)) is not None
    if not path.exists() and not running:
        raise GeneratorRunNotFound(f"no generator run {run_id} (no status at {path})")
    return BackgroundStatus(run_id, running, read_status(path))


def stop_background_run(
    settings: LabSettings, run_id: str, timeout: float = 120
) -> BackgroundStatus:
    """Ask the run to stop (SIGTERM: it finishes in-flight requests), wait, return its counts."""
    registry = _registry(settings)
    handle = registry.running(_process_name(run_id))
    if handle is not None:
        process = handle.process()
        if process is not None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except Exception:
                registry.stop(_process_name(run_id), timeout=5)
    status = background_status(settings, run_id)
    registry.stop(_process_name(run_id))
    return status
