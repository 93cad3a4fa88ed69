"""The user-facing docs stay a front door: a short README, and no tracker issue numbers (users
cannot see the tracker) in the README, docs/*.md or the recipes' READMEs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
USER_DOCS = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md"),
                    *(REPO / "recipes").glob("README.md"), *(REPO / "egs").glob("*/README.md")])
TRACKER = re.compile(r"\bissues? #?\d+|(?<![\w&/])#\d{1,4}\b", re.IGNORECASE)
README_MAX_LINES = 220


def test_readme_is_short() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, "README.md: move detail to docs/ or docs/results/"


@pytest.mark.parametrize("path", USER_DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_tracker_issue_numbers(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = [match.group(0) for match in TRACKER.finditer(text)]
    assert not found, f"{path.relative_to(REPO)} cites the tracker: {found}"


def test_the_pattern_catches_what_it_should() -> None:
    assert TRACKER.search("as issue 21 asked") and TRACKER.search("see #138")
    assert not TRACKER.search("&#8203; `id|text` 1 200 steps, #!/bin/bash")
