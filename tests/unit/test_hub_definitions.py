"""The Meltano Hub definitions in hub/ say what meltano.yml says.

Someone who adds a plugin to their own project from one of these files
(`meltano add ... --from-ref`) gets the settings, kinds, defaults and
capabilities this project runs with; a default here is the plugin's `config`
in meltano.yml when it sets one, else the setting's own `value`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
HUB = ROOT / "hub"
PROJECT = yaml.safe_load((ROOT / "meltano.yml").read_text())
DECLARED = {
    (kind, plugin["name"]): plugin
    for kind in ("extractors", "loaders")
    for plugin in PROJECT["plugins"][kind]
}


def definition(kind: str, name: str) -> dict:
    return yaml.safe_load((HUB / kind / f"{name}.yml").read_text())


def test_every_extractor_and_loader_has_a_definition_and_no_other():
    files = {(path.parent.name, path.stem) for path in HUB.glob("*/*.yml")}

    assert files == set(DECLARED)


@pytest.mark.parametrize(("kind", "name"), sorted(DECLARED))
def test_a_definition_agrees_with_meltano_yml(kind, name):
    declared, hub = DECLARED[kind, name], definition(kind, name)
    config = declared.get("config", {})

    assert hub["name"] == name
    for field in ("namespace", "executable", "python", "settings_group_validation"):
        assert hub.get(field) == declared.get(field), field
    assert hub.get("capabilities", []) == declared.get("capabilities", [])
    assert [s["name"] for s in hub["settings"]] == [
        s["name"] for s in declared["settings"]
    ]
    for ours, theirs in zip(declared["settings"], hub["settings"], strict=True):
        expected = {
            **ours,
            **({"value": config[ours["name"]]} if ours["name"] in config else {}),
        }
        assert theirs == expected, ours["name"]
    if name != "tap-contactship":
        # A loader's pin is the point (target-duckdb loses rows without it).
        assert hub["pip_url"] == declared["pip_url"]


def test_the_duckdb_loader_keeps_its_pin_and_the_tap_installs_from_pypi():
    assert definition("loaders", "target-duckdb")["pip_url"] == (
        "target-duckdb==0.8.0 duckdb==1.0.0"
    )
    # The name `.github/workflows/release.yml` publishes under.
    assert definition("extractors", "tap-contactship")["pip_url"] == "tap-contactship"
