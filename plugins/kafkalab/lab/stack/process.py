"""Background processes that outlive the command which started them.

A process is recorded in ``<run>/<name>.json`` with its pid and create time, so that
any later command (another `./lab` call, an Airflow worker) finds it again and never
mistakes a recycled pid for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil


@dataclass(frozen=True)
class ProcessHandle:
    name: str
    pid: int
    create_time: float
    command: list[str]
    log_path: str
    config_digest: str = ""

    def process(self) -> psutil.Process | None:
        try:
            proc = psutil.Process(self.pid)
            # create_time identifies the process: a pid alone may have been reused.
            if abs(proc.create_time() - self.create_time) > 1.0:
                return None
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except psutil.NoSuchProcess:
            return None

    def is_running(self) -> bool:
        return self.process() is not None


class ProcessRegistry:
    def __init__(self, run_dir: Path, log_dir: Path) -> None:
        self.run_dir = run_dir
        self.log_dir = log_dir

    def record_path(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"

    def log_path(self, name: str) -> Path:
        return self.log_dir / f"{name}.log"

    def get(self, name: str) -> ProcessHandle | None:
        path = self.record_path(name)
        if not path.exists():
            return None
        return ProcessHandle(**json.loads(path.read_text()))

    def running(self, name: str) -> ProcessHandle | None:
        handle = self.get(name)
        if handle is not None and handle.is_running():
            return handle
        return None

    def start(
        self,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        config_digest: str = "",
    ) -> ProcessHandle:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_path(name)
        with log_path.open("ab") as log:
            log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {name}\n".encode())
            log.flush()
            # A new session detaches the service from the terminal's process group, so
            # Ctrl+C in the shell that ran `./lab up` does not stop the stack.
            popen = subprocess.Popen(
                list(command),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        handle = ProcessHandle(
            name=name,
            pid=popen.pid,
            create_time=psutil.Process(popen.pid).create_time(),
            command=list(command),
            log_path=str(log_path),
            config_digest=config_digest,
        )
        self.record_path(name).write_text(json.dumps(handle.__dict__))
        return handle

    def adopt(
        self, name: str, pid: int, command: Sequence[str], log_path: str = ""
    ) -> ProcessHandle:
        """Record a process that was started otherwise (one that writes to a terminal)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        handle = ProcessHandle(
            name=name,
            pid=pid,
            create_time=psutil.Process(pid).create_time(),
            command=list(command),
            log_path=log_path,
        )
        self.record_path(name).write_text(json.dumps(handle.__dict__))
        return handle

    def stop(self, name: str, timeout: float = 30.0) -> bool:
        """Stop a recorded process and its children; True if something was stopped."""
        handle = self.get(name)
        proc = handle.process() if handle else None
        stopped = False
        if proc is not None:
            stopped = True
            terminate_tree(proc, timeout)
        self.record_path(name).unlink(missing_ok=True)
        return stopped

    def names(self) -> list[str]:
        if not self.run_dir.exists():
            return []
        return sorted(p.stem for p in self.run_dir.glob("*.json"))


def terminate_tree(proc: psutil.Process, timeout: float) -> None:
    try:
        members = [proc, *proc.children(recursive=True)]
        leads_group = os.getpgid(proc.pid) == proc.pid
    except (psutil.NoSuchProcess, ProcessLookupError):
        return
    # The service leads its own session; signalling the group reaches workers that
    # were started by it but re-parented (Airflow's forked task runners).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    _end(members, timeout)
    if leads_group:
        # A process shutting down can still start children after the signal: a Spark
        # worker launches the executors its master keeps asking for while it dies (its
        # own shutdown hook then refuses to track them), and they outlive it, re-parented,
        # in its group.
        _end(_group_members(proc.pid), timeout)


def _end(members: Sequence[psutil.Process], timeout: float) -> None:
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.terminate()
    _, alive = psutil.wait_procs(members, timeout=timeout)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(alive, timeout=5)


def _group_members(group: int) -> list[psutil.Process]:
    found = []
    for candidate in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(candidate.pid) == group and candidate.status() != psutil.STATUS_ZOMBIE:
                found.append(candidate)
    return found


def tail(path: Path | str, lines: int = 30) -> str:
    path = Path(path)
    if not path.exists():
        return f"(no log at {path})"
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        handle.seek(max(0, size - 64 * 1024))
        text = handle.read().decode(errors="replace")
    return "\n".join(text.splitlines()[-lines:])
