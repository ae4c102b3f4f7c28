from __future__ import annotations

from kafkalab.domain.report import (
    check_rows,
    describe_not_passed,
    figures_without_a_task,
    render_markdown,
    unselected_faults,
    verdict_of,
)

FAULTS = {"fan_out.fault_freeze_spark": "freeze_spark", "verify.fault_rewind": "rewind"}


def test_a_run_where_every_task_succeeded_passes() -> None:
    assert verdict_of({"a": "success", "b": "success"}) == ("passed", [])


def test_a_skipped_check_fails_the_verdict_and_is_named() -> None:
    states = {
        "fan_out.fault_freeze_spark": "skipped",
        "fan_out.spark_lag_stays_low": "skipped",
        "verify.same_sequence_claims": "success",
    }
    may_skip = unselected_faults(FAULTS, "none")
    verdict, not_passed = verdict_of(states, may_skip)
    assert (verdict, not_passed) == ("failed", ["fan_out.spark_lag_stays_low"])
    message = describe_not_passed(states, not_passed)
    assert message.startswith("fan_out.spark_lag_stays_low (skipped: it never ran")


def test_only_fault_tasks_of_another_fault_may_be_skipped() -> None:
    states = {"fan_out.fault_freeze_spark": "skipped", "verify.fault_rewind": "skipped"}
    # The selected fault skipped means the sabotage never happened: not a pass either.
    assert verdict_of(states, unselected_faults(FAULTS, "rewind")) == (
        "failed",
        ["verify.fault_rewind"],
    )
    assert verdict_of(states, unselected_faults(FAULTS, "none")) == ("passed", [])


def test_failed_upstream_failed_and_unrun_tasks_fail_the_verdict() -> None:
    states = {"a": "failed", "b": "upstream_failed", "c": None, "d": "success"}
    verdict, not_passed = verdict_of(states, may_skip={"a", "b", "c"})
    assert (verdict, not_passed) == ("failed", ["a", "b", "c"])
    assert describe_not_passed(states, not_passed) == (
        "a (failed), b (upstream_failed), c (never ran)"
    )


def test_unselected_faults() -> None:
    assert unselected_faults(FAULTS, "freeze_spark") == {"verify.fault_rewind"}
    assert unselected_faults(FAULTS, None) == set(FAULTS)
    assert unselected_faults({}, "none") == set()


def test_the_markdown_names_a_skipped_check() -> None:
    states = {"verify.check": "skipped", "verify.fault_x": "skipped"}
    report = {
        "title": "t",
        "dag_id": "d",
        "run_id": "r",
        "fault": "none",
        "verdict": "failed",
        "checks": check_rows(list(states), states, {"verify.fault_x"}, {}),
        "headline": [],
        "links": {},
        "figures": {},
    }
    markdown = render_markdown(report, has_plot=False)
    assert "**Verdict: FAILED**" in markdown
    assert (
        "- **verify.check** (skipped): it never ran, so it proved nothing (look at its trigger "
        "rule)"
    ) in markdown
    assert "- · verify.fault_x: skipped-by-fault" in markdown


def test_a_figure_whose_task_is_not_in_the_dag_is_named() -> None:
    sources = {"records": "verify.records_exactly_once", "gone": "verify.renamed_check"}
    task_ids = {"verify.records_exactly_once", "report"}
    assert figures_without_a_task(sources, task_ids) == {"gone": "verify.renamed_check"}
    assert figures_without_a_task({}, task_ids) == {}


def test_a_skipped_task_is_described_whole_among_the_others() -> None:
    states = {"a": "skipped", "b": "failed"}
    assert describe_not_passed(states, ["a", "b", "gone"]) == (
        "a (skipped: it never ran, so it proved nothing; look at its upstream tasks' states "
        "and trigger rules), b (failed), gone (never ran)"
    )
    assert describe_not_passed(states, []) == ""
