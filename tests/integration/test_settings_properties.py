"""Issue 27: a property test over the settings the tap advertises.

Generated from the tap's own settings and the SDK's (stream maps with
`__NULL__`, expressions, `__filter__` and `__alias__`; flattening; stream and
field selection; `batch_config`), each config runs the real command twice on
one organization, in RECORD and in BATCH mode, and checks: every RECORD and
every batch row validates against its stream's SCHEMA (types and formats,
nothing outside it), BATCH rows are the RECORD rows, and invalid settings end
before any request with one line.

CI runs a third of the profile's examples (13 in `ci`); `--hypothesis-profile=long`
hunts with a thousand.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tap_contactship.errors import ExitCode
from tests.catalogs import catalog
from tests.conftest import Run, batch_config, sync, tap_config, unversioned
from tests.fake_contactship import FakeContactship
from tests.worlds import sdk_batch_rows

STREAMS = ["phone_numbers", "calls", "agents", "contacts"]
#: The loaded profile's count (`ci`, `long`, CONTACTSHIP_PROPERTY_EXAMPLES).
PROFILE_EXAMPLES = settings().max_examples

#: What a map may do to one field of `calls` or `phone_numbers`.
CALL_MAPS = {
    "contact": st.just("__NULL__"),
    "from": st.sampled_from(
        ["md5(record['from'])", "__NULL__", "str(record['from'])[:4]"]
    ),
    # The SDK declares a computed field a string, whatever it computes (found
    # here: `record['duration'] / 60` is a number in a `string` column).
    "minutes": st.just("str(record['duration'] / 60)"),
    "call_analysis": st.just("__NULL__"),
}
NUMBER_MAPS = {
    "phone_number": st.sampled_from(["md5(record['phone_number'])", "__NULL__"]),
    "kind": st.just("record['type'].upper()"),
}
FILTERS = st.sampled_from(
    [None, "record['call_status'] == 'completed'", "record['duration'] > 200", "False"]
)


@st.composite
def stream_map(draw: st.DrawFn, fields: dict[str, st.SearchStrategy[str]]) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return "__NULL__"  # the whole stream removed
    chosen = draw(st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=3))
    mapping: dict[str, Any] = {name: draw(fields[name]) for name in chosen}
    if draw(st.booleans()):
        mapping["__alias__"] = "renamed"
    if draw(st.integers(0, 3)) == 0:
        # Only the mapped fields; the SDK wants the key mapped too, or it stops
        # ("Invalid key properties"): one line before any request, but no rows.
        mapping.update(__else__="__NULL__", id="id")
    return mapping


@st.composite
def configs(draw: st.DrawFn) -> dict[str, Any]:
    maps: dict[str, Any] = {}
    if draw(st.booleans()):
        calls = draw(stream_map(CALL_MAPS))
        if isinstance(calls, dict):
            rule = draw(FILTERS)
            if rule:
                calls["__filter__"] = rule
            if calls.get("__alias__"):
                calls["__alias__"] = "calls_renamed"
        maps["calls"] = calls
    if draw(st.booleans()):
        numbers = draw(stream_map(NUMBER_MAPS))
        if isinstance(numbers, dict) and numbers.get("__alias__"):
            numbers["__alias__"] = "numbers_renamed"
        maps["phone_numbers"] = numbers
    config: dict[str, Any] = {"page_size": draw(st.integers(1, 12))}
    if maps:
        config["stream_maps"] = maps
    if draw(st.booleans()):
        config["flattening_enabled"] = True
        config["flattening_max_depth"] = draw(st.integers(0, 3))
    config["include_transcripts"] = draw(st.booleans())
    return config


selections = st.lists(st.sampled_from(STREAMS), min_size=1, unique=True)
deselections = st.lists(
    # Not a field a map reads: `record['duration']` of a deselected field is a
    # KeyError in the SDK's evaluator, mid-sync (the user's map is wrong).
    st.sampled_from(["contact", "call_record", "prompt", "email", "agent_id"]),
    unique=True,
    max_size=2,
)
batch_settings = st.fixed_dictionaries(
    {"compression": st.sampled_from(["none", "gzip"]), "size": st.integers(1, 20)}
)


def organization(api: FakeContactship) -> None:
    api.seed_phone_numbers(9)
    api.seed(calls=30, agents=2, contacts=7)


def run(config: dict[str, Any], streams: list[str], deselected: list[str]) -> Run:
    chosen = catalog(streams)
    for entry in chosen["streams"]:
        for item in entry["metadata"]:
            if item["breadcrumb"][-1:] and item["breadcrumb"][-1] in deselected:
                item["metadata"]["selected"] = False
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "catalog.json"
        path.write_text(json.dumps(chosen))
        return sync(config, "--catalog", str(path))


def rows_of(result: Run) -> dict[str, list[dict[str, Any]]]:
    """Each stream's rows, from RECORD messages or, as a loader reads them, files."""
    rows: dict[str, list[dict[str, Any]]] = {}
    for message in result.messages:
        if message["type"] == "RECORD":
            rows.setdefault(message["stream"], []).append(message["record"])
        elif message["type"] == "BATCH":
            read = json.loads(json.dumps(sdk_batch_rows(message), default=float))
            rows.setdefault(message["stream"], []).extend(read)
    return rows


def comparable(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[Any]]:
    """Rows as two runs of one source agree on them: each run has its own
    `read_version`, and its `whole_reads` their own versions and times."""
    return {
        stream: (
            [(r["stream"], r["row_count"]) for r in stream_rows]
            if stream == "whole_reads"
            else unversioned(stream_rows)
        )
        for stream, stream_rows in rows.items()
    }


def check_rows_fit_their_schemas(result: Run) -> None:
    schemas = {m["stream"]: m["schema"] for m in result.of_type("SCHEMA")}
    checker = jsonschema.Draft7Validator.FORMAT_CHECKER
    for stream, rows in rows_of(result).items():
        assert stream in schemas, f"rows of {stream} without a SCHEMA"
        validator = jsonschema.Draft7Validator(schemas[stream], format_checker=checker)
        declared = set(schemas[stream]["properties"])
        for row in rows:
            validator.validate(row)
            assert set(row) <= declared, (stream, sorted(set(row) - declared))


def check_one_line_before_any_request(result: Run, api: FakeContactship) -> None:
    assert result.exit_code == ExitCode.CONFIG
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if "error" in line.lower()]
    assert errors == lines[-1:], result.stderr
    assert errors[0].startswith("tap-contactship: error: invalid config: ")
    assert api.requests == []


@settings(max_examples=max(1, PROFILE_EXAMPLES // 3))
@given(configs(), selections, deselections, batch_settings)
@example(
    {"page_size": 5, "flattening_enabled": True, "flattening_max_depth": 1},
    ["calls"],
    [],
    {"compression": "none", "size": 4},
)
@example(
    {
        "page_size": 3,
        "stream_maps": {
            "calls": {
                "contact": "__NULL__",
                "from": "md5(record['from'])",
                "__filter__": "record['call_status'] == 'completed'",
            }
        },
    },
    ["calls", "agents"],
    ["duration"],
    {"compression": "gzip", "size": 2},
)
def test_every_row_fits_its_schema_and_batch_rows_are_the_records(
    config, streams, deselected, batch
):
    if "stream_maps" in config:
        # Found here: a map of a stream the catalog leaves out stops the sync
        # ("Invalid key properties": the SDK maps the deselected stream's empty
        # schema). One line before any request, but no sync: kept out.
        maps = {k: v for k, v in config["stream_maps"].items() if k in streams}
        config = {**config, "stream_maps": maps}
    with FakeContactship() as api, tempfile.TemporaryDirectory() as folder:
        organization(api)
        records = run(tap_config(api, **config), streams, deselected)
        setting = batch_config(folder, batch["compression"], size=batch["size"])
        batches = run(
            tap_config(api, batch_config=setting, **config), streams, deselected
        )

        codes = (records.exit_code, batches.exit_code)
        assert codes == (0, 0), records.stderr + batches.stderr
        check_rows_fit_their_schemas(records)
        check_rows_fit_their_schemas(batches)
        assert comparable(rows_of(batches)) == comparable(rows_of(records))
        assert {m["stream"] for m in batches.of_type("RECORD")} <= {"whole_reads"}


INVALID_BATCH = st.one_of(
    st.fixed_dictionaries({"batch_size": st.integers(-5, 0)}),
    st.just({"encoding": {"format": "parquet", "compression": "none"}}),
    st.just({"storage": {"root": "/tmp/x?y"}}),  # noqa: S108 (never written)
)


@settings(max_examples=max(1, PROFILE_EXAMPLES // 8))
@given(configs(), INVALID_BATCH, st.booleans())
def test_invalid_settings_end_before_any_request_with_one_line(config, bad, copies):
    with FakeContactship() as api, tempfile.TemporaryDirectory() as folder:
        setting = {**batch_config(folder), **bad}
        if copies:  # a map that copies a stream: also refused in BATCH mode
            config = {
                **config,
                "stream_maps": {"calls": {}, "copy": {"__source__": "calls"}},
            }
        result = run(tap_config(api, batch_config=setting, **config), STREAMS, [])

        check_one_line_before_any_request(result, api)
