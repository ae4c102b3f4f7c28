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
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from kafkalab.lab.stack.environment import child_environment
from kafkalab.lab.stack.process import ProcessRegistry, tail, terminate_tree
from kafkalab.settings import REPO_ROOT, LabSettings
from kafkalab.spark.spec import StreamingJobSpec

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


@dataclass(frozen=True)
class SparkSubmit:
    """The one builder of a spark-submit command line, for jobs in the foreground or not.

    Jars, the S3 endpoint and keys, Delta's extensions and the master come from the
    lab's spark-defaults.conf (``kafkalab.spark.conf``, found through SPARK_CONF_DIR):
    kept off the command line, the S3 secret shows in no process list or task log.
    ``master``, ``deploy_mode`` and ``name`` are set only when a caller has them (an
    Airflow task reads them from its Spark connection); ``conf`` adds per-job settings.
    """

    binary: str
    master: str | None = None
    deploy_mode: str | None = None
    name: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls, settings: LabSettings, conf: Mapping[str, str] | None = None
    ) -> SparkSubmit:
        """The lab's own spark-submit, as `./lab spark-submit` runs it."""
        return cls(str(settings.paths.venv / "bin" / "spark-submit"), conf=dict(conf or {}))

    def command(self, application: Path | str, application_args: Sequence[str]) -> list[str]:
        # The order of Airflow's SparkSubmitHook: master, conf, name, deploy mode, app.
        command = [self.binary]
        if self.master:
            command += ["--master", self.master]
        for key, value in self.conf.items():
            command += ["--conf", f"{key}={value}"]
        if self.name:
            command += ["--name", self.name]
        if self.deploy_mode:
            command += ["--deploy-mode", self.deploy_mode]
        return [*command, str(application), *application_args]

    def streaming_command(self, spec: StreamingJobSpec) -> list[str]:
        return self.command(STREAMING_JOB, spec.to_args())


@dataclass(frozen=True)
class FinishedJob:
    returncode: int
    outcome: dict[str, Any] | None  # the job's closing JSON line, if it wrote one
    log_tail: str


class ForegroundJob:
    """A Spark job run to its end here: each output line goes to ``log_line`` as it comes."""

    def __init__(
        self, command: Sequence[str], log_line: Callable[[str], None], tail_lines: int = 40
    ) -> None:
        self.command = list(command)
        self.log_line = log_line
        self.tail_lines = tail_lines
        self.process: subprocess.Popen | None = None

    def run(self) -> FinishedJob:
        last_lines: deque[str] = deque(maxlen=self.tail_lines)
        # Spark logs to stderr, the job's summary goes to stdout: one stream keeps the order.
        self.process = subprocess.Popen(
            self.command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            bufsize=1,
        )
        outcome = None
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.rstrip("\n")
            self.log_line(line)
            last_lines.append(line)
            outcome = job_summary([line]) or outcome
        return FinishedJob(self.process.wait(), outcome, "\n".join(last_lines))

    def kill(self) -> None:
        """Stop spark-submit with its JVM and Python driver (an Airflow task killed)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(psutil.NoSuchProcess):
                terminate_tree(psutil.Process(self.process.pid), 10)


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
        spec: StreamingJobSpec,
        spark_conf: Mapping[str, str] | None = None,
        wait_for_first_batch: float = 180.0,
    ) -> JobStatus:
        handle = handle_name(raw_handle)
        if self.registry.running(handle):
            raise StreamingJobError(f"streaming job {handle} is already running")
        command = SparkSubmit.from_settings(self.settings, spark_conf).streaming_command(spec)
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
        return any(STREAMING_JOB.name in part for part in process.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # ZombieProcess is a NoSuchProcess
        return False


def _read(path: str, offset: int) -> bytes:
    with open(path, "rb") as log:
        log.seek(offset)
        return log.read()


def job_summary(lines: Iterable[str]) -> dict[str, Any] | None:
    """The last closing JSON line of spark_jobs/streaming_consumer.py among ``lines``."""
    summaries = [line for line in lines if line.startswith("{") and '"query"' in line]
    return json.loads(summaries[-1]) if summaries else None


def last_json_line(log_path: str) -> dict[str, Any] | None:
    """The job's closing JSON line in its log, if it wrote one."""
    return job_summary(tail(log_path, 200).splitlines())


def batch_timings(summary: dict[str, Any] | None) -> list[tuple[int, float]]:
    """(rows, seconds from trigger to commit) of each batch in a job's closing summary."""
    return [
        (b["rows"], b["duration_ms"].get("triggerExecution", 0) / 1000)
        for b in (summary or {}).get("batches") or []
    ]
