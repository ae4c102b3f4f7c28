"""Streaming Spark jobs that outlive the task that started them: start, pause, resume, stop.

The handle is a recorded process (``kafkalab.lab.stack.process``) another worker process
can find by name. Pausing freezes the driver's whole process group with SIGSTOP — what
`docker compose pause spark` does with the cgroup freezer — so the query stops
consuming while Kafka keeps the producers' records; SIGCONT resumes it where it was.
In client deploy mode the driver runs here for `local[*]` and for a standalone
master alike, so the same handle serves both.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from dataclasses import dataclass
from typing import Any

import psutil

from kafkalab.lab.stack.environment import child_environment
from kafkalab.lab.stack.process import ProcessRegistry, tail, terminate_tree
from kafkalab.settings import REPO_ROOT, LabSettings

STREAMING_JOB = REPO_ROOT / "spark_jobs" / "streaming_consumer.py"
_HANDLE_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
# Every Spark job the lab records is named so: `./lab pause spark` finds them all.
JOB_PREFIX = "spark-"
# A `./lab spark-submit` run, recorded by its pid: it runs in the user's terminal.
TERMINAL_JOB_PREFIX = JOB_PREFIX + "submit-"
# Logged by spark_jobs/streaming_consumer.py once its query runs.
STARTED_MARKER = b"kafkalab streaming query started"


class StreamingJobError(RuntimeError):
    pass


def handle_name(raw: str) -> str:
    """A handle safe as a file name: ``dag__run:1`` -> ``dag__run-1``."""
    return JOB_PREFIX + _HANDLE_CHARS.sub("-", raw).strip("-")[:120]


def streaming_job_args(
    topic: str,
    bootstrap: str,
    output_path: str,
    *,
    starting_offsets: str = "earliest",
    trigger: str = "processingTime=5 seconds",
    consumer_group: str | None = None,
    checkpoint: str | None = None,
    quarantine_path: str | None = None,
    stream: str | None = None,
    max_offsets_per_trigger: int | None = None,
    min_partitions: int | None = None,
    run_for: float | None = None,
    stop_when_idle: float | None = None,
) -> list[str]:
    """The streaming consumer's command-line arguments (one definition for every launcher)."""
    args = [
        topic,
        bootstrap,
        output_path,
        "--startingOffsets",
        starting_offsets,
        "--trigger",
        trigger,
    ]
    options = {
        "--consumer-group": consumer_group,
        "--checkpoint": checkpoint,
        "--quarantine-path": quarantine_path,
        "--stream": stream,
        "--max-offsets-per-trigger": max_offsets_per_trigger,
        "--min-partitions": min_partitions,
        "--run-for": run_for,
        "--stop-when-idle": stop_when_idle,
    }
    for flag, value in options.items():
        if value not in (None, ""):
            args += [flag, str(value)]
    return args


@dataclass
class JobStatus:
    handle: str
    state: str  # running | paused | exited | unknown
    pid: int | None
    log_path: str | None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class StreamingJobs:
    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings
        self.registry = ProcessRegistry(settings.paths.run, settings.paths.logs)

    def start(
        self,
        raw_handle: str,
        job_args: list[str],
        spark_conf: dict[str, str] | None = None,
        wait_for_first_batch: float = 180.0,
    ) -> JobStatus:
        handle = handle_name(raw_handle)
        if self.registry.running(handle):
            raise StreamingJobError(f"streaming job {handle} is already running")
        conf_args = [
            arg for key, value in (spark_conf or {}).items() for arg in ("--conf", f"{key}={value}")
        ]
        command = [
            str(self.settings.paths.venv / "bin" / "spark-submit"),
            *conf_args,
            str(STREAMING_JOB),
            *job_args,
        ]
        started = self.registry.start(
            handle, command, env=child_environment(self.settings), cwd=REPO_ROOT
        )
        log_offset = os.path.getsize(started.log_path)
        # "Started" means the query runs: Spark's JVM takes a while to come up.
        deadline = time.monotonic() + wait_for_first_batch
        while time.monotonic() < deadline:
            if not self.registry.running(handle):
                raise StreamingJobError(
                    f"streaming job {handle} exited at start:\n{tail(started.log_path, 40)}"
                )
            if STARTED_MARKER in _read(started.log_path, log_offset):
                return self.status(raw_handle)
            time.sleep(1.0)
        raise StreamingJobError(
            f"streaming job {handle} did not start its query within {wait_for_first_batch:.0f}s:"
            f"\n{tail(started.log_path, 40)}"
        )

    def status(self, raw_handle: str) -> JobStatus:
        return self.job_status(handle_name(raw_handle))

    def pause(self, raw_handle: str) -> JobStatus:
        return self.pause_job(handle_name(raw_handle))

    def resume(self, raw_handle: str) -> JobStatus:
        return self.resume_job(handle_name(raw_handle))

    # --- by recorded name: what `./lab pause spark` and `./lab resume spark` act on ----

    def alive(self) -> list[str]:
        """Names of the recorded Spark jobs whose process lives (running or paused)."""
        return [
            name
            for name in self.registry.names()
            if name.startswith(JOB_PREFIX) and self.registry.running(name)
        ]

    def job_status(self, handle: str) -> JobStatus:
        record = self.registry.get(handle)
        if record is None:
            return JobStatus(handle, "unknown", None, None)
        process = record.process()
        if process is None:
            return JobStatus(handle, "exited", record.pid, record.log_path)
        state = "paused" if process.status() == psutil.STATUS_STOPPED else "running"
        return JobStatus(handle, state, record.pid, record.log_path)

    def command(self, handle: str) -> list[str]:
        record = self.registry.get(handle)
        return record.command if record else []

    def pause_job(self, handle: str) -> JobStatus:
        status = self._signal(handle, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while status.state != "paused" and time.monotonic() < deadline:
            time.sleep(0.2)
            status = self.job_status(handle)
        return status

    def resume_job(self, handle: str) -> JobStatus:
        return self._signal(handle, signal.SIGCONT)

    def _signal(self, handle: str, signum: int) -> JobStatus:
        record = self.registry.running(handle)
        process = record.process() if record else None
        if record is None or process is None:
            raise StreamingJobError(f"streaming job {handle} is not running; cannot signal it")
        if os.getpgid(record.pid) == record.pid:
            # A job the lab started in the background leads its own session: the group
            # is the JVM and its Python driver (and any worker processes).
            os.killpg(record.pid, signum)
        else:
            # A job run in a terminal shares the shell's process group: signal the job's
            # own processes, the JVM first so that it starts no new child meanwhile.
            for member in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    member.send_signal(signum)
        return self.job_status(handle)

    def record_terminal_job(self, command: list[str]) -> str:
        """Record this process, about to become ``command`` by exec, as a Spark job."""
        for name in self.registry.names():
            # Earlier terminal runs that ended: nothing else would ever remove them.
            if name.startswith(TERMINAL_JOB_PREFIX) and not self.registry.running(name):
                self.registry.record_path(name).unlink(missing_ok=True)
        name = f"{TERMINAL_JOB_PREFIX}{os.getpid()}"
        self.registry.adopt(name, os.getpid(), command)
        return name

    def stop(self, raw_handle: str, timeout: float = 120.0) -> dict[str, Any]:
        """Ask the driver to stop between batches; kill what is left after ``timeout``."""
        handle = handle_name(raw_handle)
        record = self.registry.get(handle)
        process = record.process() if record else None
        if record is None:
            raise StreamingJobError(f"no streaming job {handle} was started")
        if process is not None:
            # A paused job cannot act on SIGTERM: wake it first.
            os.killpg(record.pid, signal.SIGCONT)
            drivers = [p for p in process.children(recursive=True) if _is_driver(p)]
            for driver in drivers or [process]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    driver.send_signal(signal.SIGTERM)
            _, alive = psutil.wait_procs([process], timeout=timeout)
            if alive:
                terminate_tree(process, 10)
        outcome = last_json_line(record.log_path)
        self.registry.record_path(handle).unlink(missing_ok=True)
        return {"handle": handle, "outcome": outcome, "log_path": record.log_path}


def _is_driver(process: psutil.Process) -> bool:
    try:
        return any("streaming_consumer.py" in part for part in process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess is a NoSuchProcess
        return False


def _read(path: str, offset: int) -> bytes:
    with open(path, "rb") as log:
        log.seek(offset)
        return log.read()


def last_json_line(log_path: str) -> dict[str, Any] | None:
    """The job's closing JSON line (see spark_jobs/streaming_consumer.py), if it wrote one."""
    for line in reversed(tail(log_path, 200).splitlines()):
        if line.startswith("{") and '"query"' in line:
            return json.loads(line)
    return None
