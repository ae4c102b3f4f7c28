"""Lab reports: the figures and verdicts of one exercise run, as JSON, Markdown and SVG."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

PASSED, FAILED = "passed", "failed"


def verdict_of(
    task_states: dict[str, str | None], may_skip: Collection[str] = ()
) -> tuple[str, list[str]]:
    """``passed`` only when every task succeeded; returns the tasks that did not.

    A skipped check never ran, so it cannot have passed: the only tasks allowed to be
    skipped are ``may_skip``, the fault tasks whose fault was not selected. Anything
    else that Airflow skipped (a skip that travelled down an ``all_success`` edge, say)
    fails the verdict and is named with the rest.
    """
    allowed = set(may_skip)
    not_passed = sorted(
        task
        for task, state in task_states.items()
        if state != "success" and not (state == "skipped" and task in allowed)
    )
    return (PASSED if not not_passed else FAILED), not_passed


def unselected_faults(fault_tasks: dict[str, str], selected: str | None) -> set[str]:
    """The fault tasks (task id -> fault) that skip themselves because another fault, or
    none, was selected: the only tasks of a run that may end ``skipped``."""
    return {task for task, fault in fault_tasks.items() if fault != selected}


def figures_without_a_task(sources: Mapping[str, str], task_ids: Collection[str]) -> dict[str, str]:
    """The figures (name -> task id) whose task is not in the DAG: pulled, they would read
    ``None`` and the report would look complete."""
    return {name: task for name, task in sources.items() if task not in task_ids}


def describe_not_passed(task_states: dict[str, str | None], tasks: list[str]) -> str:
    """``a (failed), b (skipped: it never ran ...)``: each task with what happened to it."""
    parts = []
    for task in tasks:
        state = task_states.get(task)
        if state == "skipped":
            parts.append(
                f"{task} (skipped: it never ran, so it proved nothing; look at its upstream "
                "tasks' states and trigger rules)"
            )
        else:
            parts.append(f"{task} ({state or 'never ran'})")
    return ", ".join(parts)


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


# The report's JSON shape; bump it when a key changes meaning or goes away.
REPORT_SCHEMA = "kafkalab.report/1"

# A task's Airflow state as a report row says it.
ROW_STATES = {
    "success": "passed",
    "failed": "failed",
    "upstream_failed": "not run: upstream failed",
    "removed": "not run: removed",
    None: "not run",
}
SKIPPED_BY_FAULT = "skipped-by-fault"


def check_rows(
    task_ids: Sequence[str],
    task_states: Mapping[str, str | None],
    may_skip: Collection[str],
    failures: Mapping[str, str | None],
) -> list[dict[str, Any]]:
    """One row per task, in the DAG's order: ``{"task", "state", "message"}``.

    ``state`` is ``passed``, ``failed``, ``skipped-by-fault`` (a fault task whose fault
    was not selected), ``skipped`` (a check that never ran: it fails the verdict), or
    ``not run: ...``. ``message`` is the task's own failure message, when it left one.
    """
    rows = []
    for task in task_ids:
        state = task_states.get(task)
        if state == "skipped":
            shown = SKIPPED_BY_FAULT if task in may_skip else "skipped"
        else:
            shown = ROW_STATES.get(state, state or "not run")
        rows.append({"task": task, "state": shown, "message": failures.get(task)})
    return rows


def figure_at(figures: Mapping[str, Any], path: str) -> Any:
    """``figures["a"]["b"]`` for ``a.b``; None where the path leads nowhere (a task that
    failed has no result)."""
    value: Any = figures
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def headline_figures(
    figures: Mapping[str, Any], headline: Mapping[str, tuple[str, str]]
) -> list[dict[str, Any]]:
    """``headline`` maps a figure's display name to (its path in ``figures``, its unit)."""
    return [
        {"name": name, "value": figure_at(figures, path), "unit": unit}
        for name, (path, unit) in headline.items()
    ]


def format_value(value: Any) -> str:
    """A figure as a reader wants it: thousands separated, one decimal, ``-`` for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


ROW_MARKS = {"passed": "✓", "failed": "✗", SKIPPED_BY_FAULT: "·"}


def render_summary(report: Mapping[str, Any]) -> str:
    """What a reader needs first: the verdict, the failing checks' messages, one line per
    check, the headline figures, where the rest is. What `./lab run` prints."""
    verdict = report["verdict"].upper()
    lines = [f"# {report['title']}", "", f"**Verdict: {verdict}**  "]
    lines.append(f"DAG `{report['dag_id']}`, run `{report['run_id']}`, fault `{report['fault']}`")
    failing = [row for row in report["checks"] if row["state"] not in ("passed", SKIPPED_BY_FAULT)]
    if failing:
        lines += ["", "## What failed", ""]
        for row in failing:
            message = (row["message"] or "").strip()
            detail = f": {message}" if message else ""
            if row["state"] == "skipped":
                detail = ": it never ran, so it proved nothing (look at its trigger rule)"
            lines.append(f"- **{row['task']}** ({row['state']}){detail}")
    lines += ["", "## Checks", ""]
    for row in report["checks"]:
        mark = ROW_MARKS.get(row["state"], "✗")
        lines.append(f"- {mark} {row['task']}: {row['state']}")
    if report["headline"]:
        lines += ["", "## Headline figures", "", "| figure | value | unit |", "|---|---:|---|"]
        lines += [
            f"| {f['name']} | {format_value(f['value'])} | {f['unit']} |"
            for f in report["headline"]
        ]
    links = report["links"]
    lines += ["", "## Where", ""]
    lines += [f"- {name}: {url}" for name, url in links.items()]
    return "\n".join(lines) + "\n"


def render_markdown(report: Mapping[str, Any], has_plot: bool) -> str:
    """The summary, then every figure and the lag plot."""
    flat: list[tuple[str, str]] = []
    _flatten("", report["figures"], flat)
    lines = ["", "## All figures", "", "| figure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in flat]
    if has_plot:
        lines += ["", "## Consumer lag over time", "", "![lag over time](lag.svg)"]
    return render_summary(report) + "\n".join(lines) + "\n"
