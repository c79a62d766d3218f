"""Shapes: what a diagnosis says about a value instead of the value."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tap_contactship.shapes import Hasher, field_shapes, shape, string_shape

#: Every shape a string can have: a closed vocabulary (offset digits aside).
VOCABULARY = re.compile(
    r"^(empty string|e164|email|url|numeric string|text \(multi-line\)|string"
    r"|((pn|org|agent|call|campaign|voice|contact|c)[-_])?(uuid|uuid-like \(not hex\))"
    r"|timestamp ((\.f+)?(Z|naive|offset|[+-]\d{2}:?\d{2})|not ISO 8601"
    r"|other ISO 8601))$"
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("+12025551234", "e164"),
        ("p1@example.mx", "email"),
        ("https://records.example/1.mp3", "url"),
        ("pn-a1b2c3d4-e5f6-7890-abcd-ef1234567890", "pn-uuid"),
        ("c1a2b3c4-d5e6-f7g8-h9i0-j1k2l3m4n5o6", "uuid-like (not hex)"),
        ("2026-03-15T14:30:00Z", "timestamp Z"),
        ("2024-01-15T10:30:00.000Z", "timestamp .fffZ"),
        ("2024-03-05T14:20:00.123456+00:00", "timestamp .ffffff+00:00"),
        ("2026-03-15T16:30:00+02:00", "timestamp +02:00"),
        ("2026-03-15T14:30:00", "timestamp naive"),
        ("2026-13-45T99:99:99Z", "timestamp not ISO 8601"),
        ("Persona 7", "string"),
        ("You are a friendly assistant.\n\nBe brief.", "text (multi-line)"),
        ("210", "numeric string"),
    ],
)
def test_a_string_becomes_its_shape(value, expected):
    assert string_shape(value) == expected


@given(st.text(max_size=60))
def test_any_string_shape_is_in_the_closed_vocabulary(value):
    assert VOCABULARY.match(string_shape(value)), string_shape(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["a", "b", "summary"]), inner, max_size=3)
    ),
    max_leaves=12,
)


KEYS = ["id", "contact", "summary", "a", "b"]
BASE = {"null", "boolean", "integer", "number", "object", "array", "empty array"}


@given(st.dictionaries(st.sampled_from(KEYS), json_values))
def test_a_row_shape_holds_only_its_keys_and_the_vocabulary(row):
    for name, shapes in field_shapes([row]).items():
        assert name in KEYS
        for flat in shapes:
            for part in re.split(r"array of |object \{|[{},|]|: ", flat):
                token = part.strip()
                allowed = token in BASE or token in KEYS or VOCABULARY.match(token)
                assert not token or allowed, (token, flat)


def test_nested_objects_keep_their_keys_and_lists_merge_their_items():
    value = {"summary": "Call 1", "tags": [1, 2.5, "x"], "deep": {"a": {"b": {}}}}

    assert shape(value) == {
        "summary": "string",
        "tags": {"array of": ["integer", "number", "string"]},
        "deep": {"a": {"b": "object"}},
    }


def test_a_key_that_looks_like_data_is_shaped_too():
    assert shape({"p1@example.mx": 1, "+12025551234": "x"}) == {
        "<email>": "integer",
        "<e164>": "string",
    }


def test_hashes_compare_within_a_run_and_differ_between_runs():
    first, second = Hasher(), Hasher()

    assert first("pn-1") == first("pn-1") != first("pn-2")
    assert first("pn-1") != second("pn-1")
    assert "pn-1" not in first("pn-1")
