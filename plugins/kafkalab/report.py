"""Lab reports: the figures and verdicts of one exercise run, as JSON, Markdown and SVG."""

from __future__ import annotations

import json
from typing import Any

PASSED, FAILED = "passed", "failed"
SUCCESS_STATES = {"success", "skipped"}


def verdict_of(task_states: dict[str, str | None]) -> tuple[str, list[str]]:
    """``passed`` only when every task succeeded (or was skipped on purpose)."""
    failed = sorted(t for t, state in task_states.items() if state not in SUCCESS_STATES)
    return (PASSED if not failed else FAILED), failed


def _flatten(prefix: str, value: Any, into: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, into)
    elif isinstance(value, list) and value and isinstance(value[0], (list, tuple)):
        into.append((prefix, f"{len(value)} samples"))
    else:
        text = json.dumps(value) if not isinstance(value, str) else value
        into.append((prefix, text if len(text) <= 160 else text[:157] + "..."))


def lag_svg(series: dict[str, list[tuple[float, int]]], width: int = 640, height: int = 240) -> str:
    """A line chart of lag over time, one line per series; no plotting library needed."""
    points = [(t, v) for samples in series.values() for t, v in samples]
    if not points:
        return ""
    t0 = min(t for t, _ in points)
    t_span = max(max(t for t, _ in points) - t0, 1e-9)
    v_max = max(max(v for _, v in points), 1)
    left, bottom, top, right = 60, height - 30, 20, width - 20
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]

    def xy(t: float, v: int) -> str:
        x = left + (t - t0) / t_span * (right - left)
        y = bottom - v / v_max * (bottom - top)
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="11">',
        f'<line x1="{left}" y1="{bottom}" x2="{right}" y2="{bottom}" stroke="#333"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{bottom}" stroke="#333"/>',
        f'<text x="{left - 5}" y="{top + 4}" text-anchor="end">{v_max}</text>',
        f'<text x="{left - 5}" y="{bottom}" text-anchor="end">0</text>',
        f'<text x="{right}" y="{bottom + 15}" text-anchor="end">{t_span:.0f} s</text>',
        f'<text x="{left}" y="{bottom + 15}">0 s</text>',
    ]
    for index, (name, samples) in enumerate(series.items()):
        color = colors[index % len(colors)]
        if samples:
            polyline = " ".join(xy(t, v) for t, v in samples)
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{polyline}"/>'
            )
        parts.append(
            f'<text x="{right - 150}" y="{top + 14 * (index + 1)}" fill="{color}">{name}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def render_markdown(report: dict[str, Any], has_plot: bool) -> str:
    lines = [
        f"# {report['title']}",
        "",
        f"**Verdict: {report['verdict'].upper()}**  ",
        f"DAG `{report['dag_id']}`, run `{report['run_id']}`",
        "",
    ]
    if report["failed_tasks"]:
        lines += ["Failed tasks: " + ", ".join(f"`{t}`" for t in report["failed_tasks"]), ""]
    lines += ["## Tasks", "", "| task | state |", "|---|---|"]
    lines += [f"| {task} | {state} |" for task, state in sorted(report["tasks"].items())]
    flat: list[tuple[str, str]] = []
    _flatten("", report["figures"], flat)
    lines += ["", "## Figures", "", "| figure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in flat]
    if has_plot:
        lines += ["", "## Consumer lag over time", "", "![lag over time](lag.svg)"]
    return "\n".join(lines) + "\n"
