"""The project's documentation as the tests read it: README.md, then docs/*.md.

Every test that checks what the documentation says reads it here, so a
section moved between the README and a docs/ page stays checked.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def pages(root: Path = ROOT) -> list[Path]:
    """The README first (its set-up commands come first), then docs/ by name."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def commands(root: Path = ROOT) -> list[str]:
    """The commands of every ```bash block, in page order, continuations joined."""
    found = []
    for page in pages(root):
        for block in re.findall(r"```bash\n(.*?)```", page.read_text(), re.DOTALL):
            pending = ""
            for line in block.splitlines():
                if line.rstrip().endswith("\\"):
                    pending += line.rstrip()[:-1] + " "
                    continue
                command = (pending + line).strip()
                pending = ""
                if command and not command.startswith("#"):
                    found.append(command)
    return found


def queries(root: Path = ROOT) -> list[str]:
    """The statements of every ```sql block."""
    statements = []
    for page in pages(root):
        for block in re.findall(r"```sql\n(.*?)```", page.read_text(), re.DOTALL):
            statements += [s.strip() for s in block.split(";") if s.strip()]
    return statements


def between_markers(name: str, root: Path = ROOT) -> str:
    """The text between `<!-- name:start -->` and `<!-- name:end -->`, on
    whichever page holds them (exactly one must)."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    found = [
        text.split(start)[1].split(end)[0]
        for text in (page.read_text() for page in pages(root))
        if start in text
    ]
    assert len(found) == 1, f"{start} on {len(found)} pages"
    return found[0]


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces
    to hyphens (`Diagnosing your account (`--diagnose`)` ->
    `diagnosing-your-account---diagnose`)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    return {anchor(h) for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)}


def links(page: Path) -> list[str]:
    """The targets of the page's Markdown links, outside code blocks."""
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    return re.findall(r"\]\(([^)\s]+)\)", text)
