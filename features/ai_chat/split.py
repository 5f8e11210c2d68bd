"""Split a reply into Discord messages of at most 2,000 characters, keeping code fences balanced.

Discord counts characters, not bytes (the original counted bytes and cut non-Latin replies short). A chunk that
ends inside a ``` block is closed with a fence and the next one reopens it with the same language tag.
"""

from __future__ import annotations

import re

MESSAGE_LIMIT = 2000
_MIN_SPLIT = 200  # a break point closer to the start than this makes a uselessly short message
_FENCE = re.compile(r"^```(\S*)", re.MULTILINE)
_CLOSE = "\n```"


def _open_fence(text: str) -> str | None:
    """The language tag of the fence left open at the end of `text` ("" for none), or None when balanced."""
    language: str | None = None
    for match in _FENCE.finditer(text):
        language = match.group(1) if language is None else None
    return language


def _break_at(text: str, limit: int) -> int:
    window = text[:limit]
    for separator in ("\n\n", "\n", ". "):
        at = window.rfind(separator)
        if at > _MIN_SPLIT:
            return at + (1 if separator == ". " else 0)
    return limit


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    text = text.strip()
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    reopen = ""
    while text:
        text = reopen + text
        reopen = ""
        if len(text) <= limit:
            chunks.append(text.strip())
            break
        room = limit - len(_CLOSE)  # leave space to close a block we cut through
        cut = _break_at(text, room)
        head, rest = text[:cut].rstrip(), text[cut:].lstrip("\n")
        language = _open_fence(head)
        if language is not None:
            head += _CLOSE
            reopen = f"```{language if language.isalnum() else ''}\n"
        chunks.append(head.strip())
        text = rest
    return [chunk for chunk in chunks if chunk]
