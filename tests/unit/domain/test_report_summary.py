from __future__ import annotations

from kafkalab.domain.report import (
    REPORT_SCHEMA,
    check_rows,
    figure_at,
    headline_figures,
    render_markdown,
    render_summary,
)

STATES = {
    "setup.ensure": "success",
    "verify.fault_dup": "skipped",
    "verify.exactly_once": "failed",
    "verify.after": "upstream_failed",
    "verify.orphan": "skipped",
}
ORDER = [*STATES, "verify.never"]


def test_one_row_per_task_in_the_dags_order_with_its_message() -> None:
    rows = check_rows(ORDER, STATES, {"verify.fault_dup"}, {"verify.exactly_once": "3 missing"})
    assert rows == [
        {"task": "setup.ensure", "state": "passed", "message": None},
        {"task": "verify.fault_dup", "state": "skipped-by-fault", "message": None},
        {"task": "verify.exactly_once", "state": "failed", "message": "3 missing"},
        {"task": "verify.after", "state": "not run: upstream failed", "message": None},
        {"task": "verify.orphan", "state": "skipped", "message": None},
        {"task": "verify.never", "state": "not run", "message": None},
    ]


def test_headline_figures_follow_paths_and_name_their_units() -> None:
    figures = {"generator": {"acknowledged": 300, "topics": {"t": {"found": 150}}}, "x": None}
    assert figure_at(figures, "generator.topics.t.found") == 150
    assert figure_at(figures, "generator.missing") is None
    assert figure_at(figures, "x.y") is None
    assert headline_figures(
        figures, {"events acknowledged": ("generator.acknowledged", "events")}
    ) == [{"name": "events acknowledged", "value": 300, "unit": "events"}]


def report(verdict: str, checks: list[dict]) -> dict:
    return {
        "schema": REPORT_SCHEMA,
        "title": "Kafka ingest",
        "dag_id": "kafka_ingest_basic",
        "run_id": "r1",
        "fault": "none",
        "verdict": verdict,
        "checks": checks,
        "headline": [
            {"name": "events acknowledged", "value": 12345, "unit": "events"},
            {"name": "RTO", "value": 42.25, "unit": "s"},
            {"name": "lag peak", "value": None, "unit": "records"},
        ],
        "links": {"full report (JSON)": "s3://lab-reports/kafka_ingest_basic/r1/report.json"},
        "figures": {"generator": {"acknowledged": 12345}},
    }


def test_a_passing_summary_leads_with_the_verdict_then_checks_figures_and_links() -> None:
    rows = check_rows(["a", "b"], {"a": "success", "b": "skipped"}, {"b"}, {})
    assert render_summary(report("passed", rows)) == (
        "# Kafka ingest\n"
        "\n"
        "**Verdict: PASSED**  \n"
        "DAG `kafka_ingest_basic`, run `r1`, fault `none`\n"
        "\n"
        "## Checks\n"
        "\n"
        "- ✓ a: passed\n"
        "- · b: skipped-by-fault\n"
        "\n"
        "## Headline figures\n"
        "\n"
        "| figure | value | unit |\n"
        "|---|---:|---|\n"
        "| events acknowledged | 12,345 | events |\n"
        "| RTO | 42.2 | s |\n"
        "| lag peak | - | records |\n"
        "\n"
        "## Where\n"
        "\n"
        "- full report (JSON): s3://lab-reports/kafka_ingest_basic/r1/report.json\n"
    )


def test_a_failing_summary_puts_the_failing_checks_messages_first() -> None:
    rows = check_rows(ORDER, STATES, {"verify.fault_dup"}, {"verify.exactly_once": " 3 missing\n"})
    summary = render_summary(report("failed", rows))
    assert summary.index("## What failed") < summary.index("## Checks")
    assert (
        "## What failed\n\n"
        "- **verify.exactly_once** (failed): 3 missing\n"
        "- **verify.after** (not run: upstream failed)\n"
        "- **verify.orphan** (skipped): it never ran, so it proved nothing (look at its "
        "trigger rule)\n"
        "- **verify.never** (not run)\n"
    ) in summary
    assert "- ✗ verify.exactly_once: failed\n- ✗ verify.after: not run: upstream failed\n" in (
        summary
    )


def test_the_markdown_is_the_summary_then_every_figure() -> None:
    rows = check_rows(["a"], {"a": "success"}, set(), {})
    full = render_markdown(report("passed", rows), has_plot=True)
    assert full.startswith(render_summary(report("passed", rows)))
    assert "| generator.acknowledged | 12345 |" in full
    assert full.endswith("![lag over time](lag.svg)\n")
