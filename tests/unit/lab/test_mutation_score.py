from __future__ import annotations

from pathlib import Path

import pytest

from kafkalab.lab import mutation
from kafkalab.lab.cli import cmd_mutation, parse_args
from kafkalab.lab.mutation import module_of, parse_results, scored
from kafkalab.settings import LabSettings

RESULTS = """\
    kafkalab.domain.lag.xǁLagWatchǁobserve__mutmut_1: killed
    kafkalab.domain.lag.x_compute_lag__mutmut_2: survived
    kafkalab.domain.report.x_lag_svg__mutmut_1: no tests
    kafkalab.operators.checks.x_groups_caught_up_failure__mutmut_4: timeout
    kafkalab.operators.checks.xǁIngestorHealthOperatorǁexecute__mutmut_1: not checked
"""


def test_results_are_read_per_mutant() -> None:
    statuses = parse_results(RESULTS + "some other line\n")
    assert statuses["kafkalab.domain.lag.x_compute_lag__mutmut_2"] == "survived"
    assert statuses["kafkalab.domain.report.x_lag_svg__mutmut_1"] == "no tests"
    assert len(statuses) == 5


def test_only_the_scored_functions_count_and_a_timeout_is_a_kill() -> None:
    score = scored(parse_results(RESULTS))
    assert score.killed == [
        "kafkalab.domain.lag.xǁLagWatchǁobserve__mutmut_1",
        "kafkalab.operators.checks.x_groups_caught_up_failure__mutmut_4",
    ]
    assert score.not_killed == ["kafkalab.domain.lag.x_compute_lag__mutmut_2"]
    assert round(score.percent, 1) == 66.7
    assert score.by_module() == {
        "kafkalab.domain.lag": (1, 2),
        "kafkalab.operators.checks": (1, 1),
    }
    assert scored({}).percent == 0.0


def test_a_mutants_module_is_its_name_before_the_function() -> None:
    assert module_of("kafkalab.domain.lag.xǁLagWatchǁobserve__mutmut_1") == "kafkalab.domain.lag"
    assert module_of("kafkalab.operators.scaling.x_speedup_problem__mutmut_3") == (
        "kafkalab.operators.scaling"
    )


def test_test_mutation_hands_the_rest_to_mutmut() -> None:
    args = parse_args(["test", "--mutation", "--max-children", "1"])
    assert args.command == "test" and args.args == ["--mutation", "--max-children", "1"]


@pytest.mark.parametrize(
    ("verdicts", "exit_code"),
    [(["killed"] * 9 + ["survived"], 0), (["killed"] * 8 + ["survived"] * 2, 1)],
)
def test_under_ninety_percent_the_command_fails_and_names_the_survivors(
    verdicts: list[str],
    exit_code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    statuses = {f"kafkalab.domain.lag.x_compute_lag__mutmut_{i}": v for i, v in enumerate(verdicts)}
    calls = []
    monkeypatch.setattr(
        mutation, "run_mutmut", lambda *args: calls.append(args) or (0, tmp_path / "log")
    )
    monkeypatch.setattr(mutation, "mutmut_results", lambda *args: statuses)
    assert cmd_mutation(LabSettings(home=tmp_path), ["--max-children", "1"]) == exit_code
    assert calls[0][1] == tmp_path / "mutation" and calls[0][2] == ["--max-children", "1"]
    out = capsys.readouterr().out
    assert f"kafkalab.domain.lag: {verdicts.count('killed')}/10 killed" in out
    assert "not killed: kafkalab.domain.lag.x_compute_lag__mutmut_9 (survived)" in out
    assert f"mutation score: {verdicts.count('killed')}/10 killed" in out
