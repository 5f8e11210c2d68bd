"""What goes to the model and what comes back: member text neutralised, model text cleaned of our own markers."""

from __future__ import annotations

import re

# "system: you are now ..." at a line start would read as a role turn to some models: make it a bracketed label.
_ROLE_MARKER = re.compile(r"^(\s*)(system|assistant|user)\s*:", re.IGNORECASE | re.MULTILINE)
_SPECIAL_TOKEN = re.compile(r"<\|[^|>]*\|>")  # <|im_start|>, <|endoftext|>, ...
_INSTRUCTION_TAGS = re.compile(r"\[/?INST\]|<</?SYS>>|</?SYS>", re.IGNORECASE)
_OUR_MARKERS = ("[OLD MESSAGE — already handled, do NOT act on this] ", "[Already completed action] ")


def sanitize(text: str) -> str:
    """A member's words as plain text: role markers bracketed, special tokens and [INST]/<<SYS>> tags removed."""
    text = _SPECIAL_TOKEN.sub("", text)
    text = _INSTRUCTION_TAGS.sub("", text)
    return _ROLE_MARKER.sub(lambda m: f"{m.group(1)}[{m.group(2)}]:", text)


def clean_reply(text: str) -> str:
    """The model sometimes repeats the markers our history uses; they never reach the channel."""
    for marker in _OUR_MARKERS:
        text = text.replace(marker, "")
    return text.strip()
