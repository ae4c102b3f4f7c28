from __future__ import annotations

import pytest

from kafkalab.lab.cli import needs_stack


@pytest.mark.parametrize(
    "args",
    [["-m", "unit"], ["tests/unit"], ["tests/unit/domain/test_lag.py", "-q"], ["-q", "-m", "unit"]],
)
def test_the_unit_tier_alone_runs_without_the_stack(args: list[str]) -> None:
    assert not needs_stack(args)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-m", "e2e"],
        ["-m", "unit or dags"],
        ["tests/unit", "tests/e2e/test_lab_cli.py"],
        ["tests/integration"],
        ["-p", "no:cacheprovider"],
    ],
)
def test_anything_beyond_the_unit_tier_brings_the_stack_up(args: list[str]) -> None:
    assert needs_stack(args)
