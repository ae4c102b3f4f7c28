from __future__ import annotations

import subprocess
from pathlib import Path

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
