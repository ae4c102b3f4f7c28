"""The status file of a run: its summary as JSON, rewritten as the run goes.

A background run is watched and stopped from other processes (Airflow tasks, possibly
on another worker): they learn its counts from this file only.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kafkalab.generator.counts import GeneratorSummary


def write_status(path: Path, summary: GeneratorSummary) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(summary.to_json())
    # Readers in other processes never see a half-written file.
    os.replace(temporary, path)


def read_status(path: Path) -> dict[str, Any] | None:
    """The last summary written to ``path``, or None before the first one."""
    return json.loads(path.read_text()) if path.exists() else None
