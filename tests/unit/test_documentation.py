"""The README and docs/ hold together: every link lands, every page is reachable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.documentation import ROOT, anchor, anchors, links, pages


def test_github_anchors_are_computed_as_github_does():
    assert anchor("Diagnosing your account (`--diagnose`)") == (
        "diagnosing-your-account---diagnose"
    )
    assert anchor("Deletes: why a version column and `whole_reads`") == (
        "deletes-why-a-version-column-and-whole_reads"
    )
    assert anchor("The SDK's own settings") == "the-sdks-own-settings"


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_every_link_of_a_page_lands_on_a_file_and_heading(page: Path):
    broken = []
    for target in links(page):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, fragment = target.partition("#")
        landing = (page.parent / path).resolve() if path else page
        if not landing.exists() or (fragment and fragment not in anchors(landing)):
            broken.append(target)
    assert broken == []


def test_every_docs_page_is_linked_from_the_readme():
    readme = ROOT / "README.md"
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(readme)}

    assert [page.name for page in pages()[1:] if page not in linked] == []
    assert len(pages()) > 1
