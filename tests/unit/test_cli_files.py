"""The files named on the command line are checked before the SDK reads them."""

from __future__ import annotations

import pytest

from tap_contactship.cli import _file_arguments, check_files
from tap_contactship.errors import ConfigError


def test_file_options_in_both_spellings():
    args = ["--config", "a.json", "--state=s.json", "--catalog", "c.json", "--discover"]

    assert _file_arguments(args) == [
        ("--config", "a.json"),
        ("--state", "s.json"),
        ("--catalog", "c.json"),
    ]
    assert _file_arguments(["--config"]) == []


def test_env_config_is_not_a_file():
    check_files(["--config=ENV", "--config", "ENV"])


def test_a_missing_file_is_named(tmp_path):
    missing = tmp_path / "nope.json"

    with pytest.raises(
        ConfigError, match=f"cannot read the --config file {missing}: No such file"
    ):
        check_files(["--config", str(missing)])


def test_truncated_json_is_named_with_its_position(tmp_path):
    state = tmp_path / "state.json"
    state.write_text('{"bookmarks": {"calls":')

    with pytest.raises(ConfigError) as caught:
        check_files(["--state", str(state)])

    assert str(caught.value) == (
        f"the --state file {state} is not valid JSON (line 1, column 24): truncated, "
        "or not JSON?"
    )


def test_a_folder_is_not_a_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the --catalog file"):
        check_files(["--catalog", str(tmp_path)])


def test_binary_is_not_json(tmp_path):
    blob = tmp_path / "blob.json"
    blob.write_bytes(b"\xff\xfe\x00")

    with pytest.raises(ConfigError, match="cannot read the --config file"):
        check_files(["--config", str(blob)])
