"""`./lab pause spark` / `resume spark` on recorded jobs, with `sleep` standing in for Spark.

The signals are the point here (SIGSTOP/SIGCONT on the right processes); the real
Spark job is paused in tests/integration/operators/test_building_blocks.py and in the
lab guide walkthrough (tests/e2e).
"""

from __future__ import annotations

import json
import subprocess
import time

import psutil
import pytest

from kafkalab.lab.cli import main
from kafkalab.lab.stack.process import ProcessHandle
from kafkalab.settings import LabSettings
from kafkalab.spark.jobs import StreamingJobs


def state(pid: int) -> str:
    return "paused" if psutil.Process(pid).status() == psutil.STATUS_STOPPED else "running"


def states(*pids: int, expected: tuple[str, ...]) -> tuple[str, ...]:
    """The processes' states, once they are as expected or 5 s have passed."""
    deadline = time.monotonic() + 5
    seen = tuple(state(pid) for pid in pids)
    while seen != expected and time.monotonic() < deadline:
        time.sleep(0.05)  # a signal reaches a sleeping process when it is next scheduled
        seen = tuple(state(pid) for pid in pids)
    return seen


@pytest.fixture
def lab_home(tmp_path, monkeypatch) -> LabSettings:
    monkeypatch.setenv("KAFKALAB_HOME", str(tmp_path))
    return LabSettings(home=tmp_path)


@pytest.fixture
def processes():
    started: list[subprocess.Popen] = []
    yield started
    for process in started:
        process.kill()
        process.wait()


def test_pause_and_resume_spark_act_on_every_job_the_lab_started(
    lab_home, processes, capsys
) -> None:
    jobs = StreamingJobs(lab_home)
    first = jobs.registry.start("spark-dag__run-1", ["sleep", "60"])
    second = jobs.registry.start("spark-dag__run-2", ["sleep", "60"])
    # Not a Spark job: a service of the stack must never be frozen by `pause spark`.
    service = jobs.registry.start("ingestor", ["sleep", "60"])
    processes.extend(psutil.Process(h.pid) for h in (first, second, service))

    assert main(["pause", "spark"]) == 0
    expected = ("paused", "paused", "running")
    assert states(first.pid, second.pid, service.pid, expected=expected) == expected
    out = capsys.readouterr().out
    assert "paused spark-dag__run-1" in out and "paused spark-dag__run-2" in out

    assert main(["unpause", "spark", "spark-dag__run-2"]) == 0
    expected = ("paused", "running")
    assert states(first.pid, second.pid, expected=expected) == expected
    assert main(["resume", "spark"]) == 0
    expected = ("running", "running")
    assert states(first.pid, second.pid, expected=expected) == expected


def test_a_job_run_in_a_terminal_is_paused_without_its_shell(lab_home, processes) -> None:
    # A terminal's job shares a process group it does not lead (the shell's job here
    # is `shell`): pausing it must freeze the job and nothing else of the group.
    shell = subprocess.Popen(["sleep", "60"], process_group=0)
    job = subprocess.Popen(["sleep", "60"], process_group=shell.pid)
    processes.extend([shell, job])
    jobs = StreamingJobs(lab_home)
    jobs.registry.adopt("spark-submit-test", job.pid, ["spark-submit", "job.py"])

    assert main(["pause", "spark"]) == 0
    expected = ("paused", "running")
    assert states(job.pid, shell.pid, expected=expected) == expected
    assert main(["resume", "spark"]) == 0
    assert states(job.pid, expected=("running",)) == ("running",)


def test_a_spark_submit_run_is_recorded_and_ended_runs_are_forgotten(lab_home) -> None:
    jobs = StreamingJobs(lab_home)
    ended = subprocess.Popen(["true"])
    ended.wait()
    jobs.registry.run_dir.mkdir(parents=True, exist_ok=True)
    stale = ProcessHandle("spark-submit-1", ended.pid, 0.0, ["spark-submit"], "")
    jobs.registry.record_path(stale.name).write_text(json.dumps(stale.__dict__))

    name = jobs.record_terminal_job(["spark-submit", "job.py"])
    assert jobs.alive() == [name]
    assert jobs.registry.names() == [name]


def test_pause_spark_with_nothing_running_says_how_to_start_a_job(lab_home, capsys) -> None:
    assert main(["pause", "spark"]) == 1
    assert "./lab spark-submit" in capsys.readouterr().err
