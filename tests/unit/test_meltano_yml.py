"""meltano.yml stays in step with the tap (no Meltano needed for this)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from tap_contactship.tap import TapContactship

ROOT = Path(__file__).resolve().parents[2]


def project() -> dict:
    return yaml.safe_load((ROOT / "meltano.yml").read_text())


def extractor() -> dict:
    return next(
        p for p in project()["plugins"]["extractors"] if p["name"] == "tap-contactship"
    )


def test_every_tap_setting_is_declared_with_the_same_default():
    declared = {s["name"]: s for s in extractor()["settings"]}
    builtin = ("stream_map", "faker_config", "flattening_", "batch_config")
    properties = {
        name: schema
        for name, schema in TapContactship.config_jsonschema["properties"].items()
        if not name.startswith(builtin)
    }

    assert set(properties) <= set(declared)
    for name, schema in properties.items():
        if "default" in schema and name != "user_agent":
            assert declared[name].get("value") == schema["default"], name
    assert declared["api_key"]["sensitive"] is True
    assert extractor()["settings_group_validation"] == [["api_key"]]


#: The Meltano setting kind each JSON schema type becomes.
KINDS = {
    "string": {"string", "options", "date_iso8601", "password"},
    "integer": {"integer"},
    # Not decimal: Meltano 4.4.1 cannot serialize a Decimal taken from the
    # environment (tests/e2e/test_production.py sets one).
    "number": {"integer"},
    "boolean": {"boolean"},
    "object": {"object"},
    "array": {"array"},
}


def test_every_setting_kind_matches_its_schema_type():
    declared = {s["name"]: s for s in extractor()["settings"]}
    schema = copy.deepcopy(TapContactship.config_jsonschema)
    TapContactship.append_builtin_config(schema)  # the SDK's own settings too
    properties = schema["properties"]

    for name, setting in declared.items():
        types = properties[name].get("type", ["object"])
        types = [types] if isinstance(types, str) else types
        main = next(t for t in types if t != "null")
        assert setting["kind"] in KINDS[main], (name, setting["kind"], main)
    assert declared["start_date"]["kind"] == "date_iso8601"
    assert declared["phone_number_type"]["kind"] == "options"


def test_capabilities_match_about():
    about = {str(c) for c in TapContactship.capabilities}

    assert set(extractor()["capabilities"]) == about


def test_no_plugin_needs_meltano_hub():
    plugins = [
        p
        for kind in project()["plugins"].values()
        for p in kind
        if "inherit_from" not in p
    ]
    for plugin in plugins:
        assert {"namespace", "pip_url", "executable", "settings"} <= set(plugin), (
            plugin["name"]
        )
    assert project()["send_anonymous_usage_stats"] is False
    assert "requires_meltano" in project()
    assert "version" not in project()


def test_duckdb_loader_pins_a_duckdb_that_keeps_every_row():
    duckdb = next(
        p for p in project()["plugins"]["loaders"] if p["name"] == "target-duckdb"
    )
    assert "duckdb==1.0.0" in duckdb["pip_url"]
