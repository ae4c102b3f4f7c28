"""The package's layout rules, checked on the source so they cannot drift."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from kafkalab.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "plugins" / "kafkalab"
TESTS = REPO_ROOT / "tests"
TIERS = ("unit", "integration", "dags", "e2e")

# What the domain layer may import besides the standard library and itself: data
# modelling and config parsing, nothing that opens a connection.
DOMAIN_ALLOWED_THIRD_PARTY = {"pydantic", "yaml"}


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def python_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*.py") if "__pycache__" not in path.parts)


@pytest.mark.parametrize("module", python_files(PACKAGE / "domain"), ids=lambda path: path.name)
def test_the_domain_layer_imports_no_client(module: Path) -> None:
    foreign = {
        name
        for name in imported_modules(module)
        if name.split(".")[0] not in sys.stdlib_module_names
        and name.split(".")[0] not in DOMAIN_ALLOWED_THIRD_PARTY
        and not name.startswith(("kafkalab.domain", "kafkalab.settings"))
    }
    assert not foreign, f"{module.relative_to(REPO_ROOT)} imports {sorted(foreign)}"


def test_tests_share_code_only_through_tests_support() -> None:
    offenders = {
        f"{path.relative_to(REPO_ROOT)} imports {name}"
        for path in python_files(TESTS)
        for name in imported_modules(path)
        if name.startswith(tuple(f"tests.{tier}" for tier in TIERS))
    }
    assert not offenders, "; ".join(sorted(offenders))
