"""`./lab test --mutation`: mutmut over the pure check logic, and the score it earns.

mutmut names each mutant after its file's path and strips only a leading `src/`, while
the tests import `kafkalab.…` from `plugins/`. So the run happens in a workspace under
the lab's home where `src` is a link to `plugins/` (and `tests`, `config`,
`pyproject.toml` link to the repo's); mutmut's own settings, in that view, are
`[tool.mutmut]` in pyproject.toml.
"""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kafkalab.settings import REPO_ROOT

# The functions whose mutants count: the lag math, reconciliation, sequence comparison,
# the verdicts, the recovery objectives and the scaling checks. The report's Markdown and SVG
# rendering (report.lag_svg, render_markdown, _flatten) is presentation, not a check.
SCORED = (
    "kafkalab.domain.lag.*",
    "kafkalab.domain.offsets.*",
    "kafkalab.domain.reconcile.*",
    "kafkalab.domain.recovery.*",
    "kafkalab.domain.report.x_verdict_of__mutmut_*",
    "kafkalab.domain.report.x_unselected_faults__mutmut_*",
    "kafkalab.domain.report.x_figures_without_a_task__mutmut_*",
    "kafkalab.domain.report.x_describe_not_passed__mutmut_*",
    "kafkalab.operators.checks.x_ingestor_health_failure__mutmut_*",
    "kafkalab.operators.checks.xǁRunRecordsǁ*",
    "kafkalab.operators.checks.x_acknowledged_ids__mutmut_*",
    "kafkalab.operators.checks.x_tally_run_records__mutmut_*",
    "kafkalab.operators.checks.x_generator_run_failure__mutmut_*",
    "kafkalab.operators.checks.x_same_sequences_failure__mutmut_*",
    "kafkalab.operators.checks.x_partition_spread_failure__mutmut_*",
    "kafkalab.operators.checks.x_groups_caught_up_failure__mutmut_*",
    "kafkalab.operators.checks.x_combined_read__mutmut_*",
    "kafkalab.operators.checks.x_consumer_views__mutmut_*",
    "kafkalab.operators.checks.x_acknowledged_sequence_failure__mutmut_*",
    "kafkalab.operators.checks.x_stopped_group_failure__mutmut_*",
    "kafkalab.operators.checks.x_lag_while_reading_failure__mutmut_*",
    "kafkalab.operators.checks.x_lag_while_reading_figures__mutmut_*",
    "kafkalab.operators.checks.x__inside__mutmut_*",
    "kafkalab.operators.checks.x__spread__mutmut_*",
    "kafkalab.operators.scaling.x_max_concurrent__mutmut_*",
    "kafkalab.operators.scaling.x_read_stage__mutmut_*",
    "kafkalab.operators.scaling.x_phase_facts__mutmut_*",
    "kafkalab.operators.scaling.x_drain_figures__mutmut_*",
    "kafkalab.operators.scaling.x_parallelism_problem__mutmut_*",
    "kafkalab.operators.scaling.x_speedup_figures__mutmut_*",
    "kafkalab.operators.scaling.x_speedup_problem__mutmut_*",
)
THRESHOLD = 90.0
# What the repo lends the workspace, under the names [tool.mutmut] uses.
LINKS = {"src": "plugins", "tests": "tests", "config": "config", "pyproject.toml": "pyproject.toml"}
# mutmut's verdicts that mean a test noticed the change.
KILLED = ("killed", "timeout", "caught by type check")


@dataclass(frozen=True)
class MutationScore:
    statuses: Mapping[str, str]  # mutant name -> mutmut's verdict

    @property
    def killed(self) -> list[str]:
        return sorted(name for name, status in self.statuses.items() if status in KILLED)

    @property
    def not_killed(self) -> list[str]:
        return sorted(name for name, status in self.statuses.items() if status not in KILLED)

    @property
    def percent(self) -> float:
        return 100.0 * len(self.killed) / len(self.statuses) if self.statuses else 0.0

    def by_module(self) -> dict[str, tuple[int, int]]:
        """Killed and total mutants per module."""
        counts: dict[str, tuple[int, int]] = {}
        for name, status in self.statuses.items():
            module = module_of(name)
            killed, total = counts.get(module, (0, 0))
            counts[module] = (killed + (status in KILLED), total + 1)
        return dict(sorted(counts.items()))


def module_of(mutant: str) -> str:
    """`kafkalab.domain.lag` of `kafkalab.domain.lag.xǁLagWatchǁobserve__mutmut_3`."""
    parts = mutant.split(".")
    while parts and not parts[-1].startswith(("x_", "xǁ")):
        parts.pop()
    return ".".join(parts[:-1]) if parts else mutant


def parse_results(output: str) -> dict[str, str]:
    """`mutmut results --all true` lines (`    name: verdict`) as a mapping."""
    statuses = {}
    for line in output.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            statuses[name] = status
    return statuses


def scored(statuses: Mapping[str, str], patterns: Sequence[str] = SCORED) -> MutationScore:
    """Only the mutants of the scored functions; the others in the same files are not run."""
    return MutationScore(
        {
            name: status
            for name, status in statuses.items()
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
        }
    )


def prepare_workspace(workspace: Path) -> None:
    """A fresh run every time: mutmut's cached verdicts would outlive changed tests."""
    workspace.mkdir(parents=True, exist_ok=True)
    for name, target in LINKS.items():
        link = workspace / name
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(REPO_ROOT / target)
    shutil.rmtree(workspace / "mutants", ignore_errors=True)


def run_mutmut(
    mutmut: Path, workspace: Path, mutmut_args: Sequence[str], env: Mapping[str, str]
) -> tuple[int, Path]:
    """`mutmut run` over the scored functions; its chatter goes to a log file."""
    prepare_workspace(workspace)
    log = workspace / "mutmut.log"
    with log.open("w") as out:
        run = subprocess.run(
            [str(mutmut), "run", *mutmut_args, *SCORED],
            cwd=workspace,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return run.returncode, log


def mutmut_results(mutmut: Path, workspace: Path, env: Mapping[str, str]) -> dict[str, str]:
    output = subprocess.run(
        [str(mutmut), "results", "--all", "true"],
        cwd=workspace,
        env=dict(env),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return parse_results(output)
