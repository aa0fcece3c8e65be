"""Docs link only to files inside the repository, and every such link resolves."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def markdown_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return [ROOT / name for name in listed if (ROOT / name).exists()]


def broken_links(doc: Path, root: Path) -> list[str]:
    bad = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+://|^mailto:|^#", target):
            continue
        path = (doc.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(root):
            bad.append(f"{target}: outside the repository")
        elif not path.exists():
            bad.append(f"{target}: no such file")
    if "../shared" in doc.read_text():
        bad.append("mentions ../shared, which a clone does not have")
    return bad


def test_there_are_docs_to_check() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in markdown_files()}
    assert {"README.md", "docs/architecture.md", "docs/runbook.md"} <= names


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_stay_inside_and_resolve(doc: Path) -> None:
    assert broken_links(doc, ROOT) == []


def test_the_check_catches_outside_and_missing_links(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("x")
    doc = tmp_path / "docs" / "a.md"
    doc.write_text(
        "[ok](here.md) [web](https://example.org) [out](../../x.md) [gone](nope.md#part)"
    )
    assert broken_links(doc, tmp_path) == [
        "../../x.md: outside the repository",
        "nope.md#part: no such file",
    ]
