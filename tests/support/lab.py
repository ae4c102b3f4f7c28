from __future__ import annotations

import subprocess
from pathlib import Path

from kafkalab.settings import LabSettings

REPO_ROOT = Path(__file__).resolve().parents[2]


def lab(*args: str, input: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run `./lab ...` as a user would."""
    return subprocess.run(
        [str(REPO_ROOT / "lab"), *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def kafka_tool(settings: LabSettings, tool: str, *args: str, input: str | None = None):
    """`./lab kafka <tool> --bootstrap-server <the lab's broker> ...`, as a user types it."""
    return lab("kafka", tool, "--bootstrap-server", settings.kafka_bootstrap, *args, input=input)


def printed_group_lag(settings: LabSettings, group: str, topic: str) -> dict[int, int]:
    """LAG per partition of ``topic`` as `kafka-consumer-groups --describe` prints it."""
    describe = kafka_tool(settings, "kafka-consumer-groups", "--describe", "--group", group)
    lines = describe.stdout.splitlines()
    header = next((line.split() for line in lines if "LAG" in line), None)
    assert header, f"no LAG column in:\n{describe.stdout}{describe.stderr}"
    return {
        int(row[header.index("PARTITION")]): int(row[header.index("LAG")])
        for row in (line.split() for line in lines if topic in line)
    }
