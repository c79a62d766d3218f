"""The exit codes the README documents are the ones the command uses."""

from __future__ import annotations

import re
from pathlib import Path

from contactship_orchestrate.meltano_output import FINAL_EXIT_CODES
from tap_contactship.errors import ExitCode

README = Path(__file__).parents[2] / "README.md"


def documented() -> dict[int, str]:
    """The README's exit-code table: code, and whether a retry is worth it."""
    section = README.read_text(encoding="utf-8").split("### Exit codes", 1)[1]
    rows = {}
    for line in section.split("\n\n", 2)[2].splitlines():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if not re.fullmatch(r"[\d /]+", cells[0]):
            continue
        for code in cells[0].split(" / "):
            rows[int(code)] = cells[2]
    return rows


def test_every_exit_code_is_in_the_readme_s_table():
    assert set(documented()) == {0} | {int(code) for code in ExitCode}


def test_the_code_location_gives_up_on_what_the_readme_says_no_retry_fixes():
    never = {code for code, retry in documented().items() if retry == "no"}

    assert never - {ExitCode.USAGE} == FINAL_EXIT_CODES
