"""Every relative link of the README and the guides in docs/ leads to a file of the repository,
so a reader who follows one never lands on a 404 after a file moves."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.settings import REPO_ROOT

DOCUMENTS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]

# Code is not prose: `[title]-[phase]` or a mermaid node in a fenced block is no link.
_FENCED = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
# [text](target "title") and reference definitions [label]: target
_INLINE = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # https:, mailto:, ...


def link_targets(markdown: str) -> list[str]:
    """The targets of the Markdown links of ``markdown``, outside code."""
    prose = _CODE_SPAN.sub("", _FENCED.sub("", markdown))
    return _INLINE.findall(prose) + _REFERENCE.findall(prose)


def relative_paths(document: Path) -> list[str]:
    """The link targets of ``document`` that name a file of the repository, anchors dropped."""
    paths = []
    for target in link_targets(document.read_text(encoding="utf-8")):
        path = target.split("#", 1)[0]
        if path and not _EXTERNAL.match(path):
            paths.append(path)
    return paths


def test_link_targets_are_found_in_prose_only() -> None:
    markdown = (
        "See [the guide](docs/a.md#part), [site](https://example.com), [top](#top) and\n"
        '[b](<docs/b.md> "title").\n\n[ref]: docs/c.md\n\n'
        "`[not](a-link.md)`\n```\n[nor](this.md)\n```\n"
    )
    assert link_targets(markdown) == [
        "docs/a.md#part",
        "https://example.com",
        "#top",
        "docs/b.md",
        "docs/c.md",
    ]


def test_the_documents_are_found() -> None:
    names = {d.relative_to(REPO_ROOT).as_posix() for d in DOCUMENTS}
    guides = {"frontend", "partners", "operators", "contributors", "errors"}
    assert {f"docs/{g}.md" for g in guides} | {"README.md"} <= names


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda d: d.relative_to(REPO_ROOT).as_posix())
def test_every_relative_link_leads_to_a_file(document: Path) -> None:
    broken = [
        path for path in relative_paths(document) if not (document.parent / path).resolve().exists()
    ]
    assert broken == []
