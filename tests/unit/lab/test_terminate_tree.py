"""Stopping a recorded process ends its whole group, children it starts while dying too."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil

from kafkalab.lab.stack.process import terminate_tree


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_child_started_after_the_signal_is_stopped_too(tmp_path: Path) -> None:
    # As a Spark worker does when its master asks for executors while it shuts down:
    # the child starts after the group was signalled, and outlives its parent.
    late_child, ready = tmp_path / "late-child", tmp_path / "ready"
    script = (
        f"trap 'sleep 300 & echo $! > {late_child}; exit 0' TERM; touch {ready};"
        " while :; do sleep 0.1; done"
    )
    leader = subprocess.Popen(["bash", "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        terminate_tree(psutil.Process(leader.pid), 10)
        assert late_child.exists(), "the leader did not start its child on SIGTERM"
        pid = int(late_child.read_text())
        assert gone(pid), f"the child started while its parent stopped still runs (pid {pid})"
    finally:
        leader.wait(10)
        if late_child.exists():
            subprocess.run(["kill", "-9", late_child.read_text().strip()], check=False)
