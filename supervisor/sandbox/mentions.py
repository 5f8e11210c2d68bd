"""`@alice` or `@bot` typed in the sandbox becomes a real mention (`<@id>`), as Discord's client does."""

from __future__ import annotations

import re

_AT_NAME = re.compile(r"(?<![<\w])@([\w.-]+)")


def resolve(text: str, names: dict[str, int]) -> str:
    lowered = {name.lower(): user_id for name, user_id in names.items()}
    return _AT_NAME.sub(lambda m: f"<@{lowered[m.group(1).lower()]}>" if m.group(1).lower() in lowered
                        else m.group(0), text)
