"""The workflows for where the repository will live (`.ci/run` lints them with
actionlint; here, what they promise)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

WORKFLOWS = Path(__file__).resolve().parents[2] / ".github/workflows"


def workflow(name: str) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return loaded


def triggers(flow: dict[Any, Any]) -> dict[str, Any]:
    # YAML 1.1 reads the key `on` as True.
    found: dict[str, Any] = flow["on"] if "on" in flow else flow[True]
    return found


def test_ci_runs_the_ci_script_on_pushes_and_pull_requests():
    flow = workflow("ci.yml")

    assert set(triggers(flow)) == {"push", "pull_request"}
    (job,) = flow["jobs"].values()
    assert [step.get("run") for step in job["steps"]][-1] == "bash .ci/run"
    assert flow["permissions"] == {"contents": "read"}


def test_release_publishes_tags_through_trusted_publishing_without_a_token():
    text = (WORKFLOWS / "release.yml").read_text()
    flow = workflow("release.yml")

    assert triggers(flow) == {"push": {"tags": ["v*.*.*"]}}
    publish = flow["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["needs"] == "build"
    (upload,) = [s for s in publish["steps"] if "pypi-publish" in s.get("uses", "")]
    assert "with" not in upload  # no password: PyPI trusts the workflow (OIDC)
    assert "secrets." not in text
    assert flow["permissions"] == {"contents": "read"}


def test_the_release_checks_the_tag_is_the_package_version():
    steps = workflow("release.yml")["jobs"]["build"]["steps"]

    checks = [s["run"] for s in steps if "GITHUB_REF_NAME" in s.get("run", "")]
    assert checks and "pyproject.toml" in checks[0]
