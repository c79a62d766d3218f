"""The e2e suite's xdist groups and start order name tests that exist.

They are matched by name, so a renamed test would silently leave its group
(and overlap what it must not) or lose its early start.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.e2e.conftest import IN_THE_PROJECT_ITSELF, LONGEST_FIRST, ON_DAGSTER

E2E = Path(__file__).resolve().parents[1] / "e2e"


def e2e_test_names() -> set[str]:
    names = set()
    for module in E2E.glob("test_*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


@pytest.mark.parametrize(
    "listed",
    [IN_THE_PROJECT_ITSELF, ON_DAGSTER, LONGEST_FIRST],
    ids=["the-project-itself", "dagster", "longest-first"],
)
def test_every_listed_e2e_test_exists(listed: tuple[str, ...]):
    assert set(listed) - e2e_test_names() == set()
