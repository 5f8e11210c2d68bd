"""A docs page's generated part: the text between two marker lines, read back by tests and rewritten by the
commands that generate it (docs/features.md, docs/sdk.md)."""

from __future__ import annotations

from pathlib import Path


def section(document: str, begin_marker: str, end_marker: str) -> str | None:
    """The text between the markers, or None when they are missing or out of order."""
    begin, end = document.find(begin_marker), document.find(end_marker)
    if begin < 0 or end < begin:
        return None
    return document[begin + len(begin_marker):end].strip("\n") + "\n"


def rewrite(path: Path, begin_marker: str, end_marker: str, fresh: str) -> None:
    """Replace the text between the markers in `path` with `fresh`."""
    document = path.read_text(encoding="utf-8")
    begin, end = document.index(begin_marker), document.index(end_marker)
    path.write_text(f"{document[:begin + len(begin_marker)]}\n{fresh}{document[end:]}", encoding="utf-8")
