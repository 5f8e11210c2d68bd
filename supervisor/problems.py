"""A validation problem: what a user must fix, and where."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# A long run of token-ish characters: a Discord token, an API key, a password. Never echoed in a message.
_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_\-.+/=:~]{20,}$")


def shown(value: Any) -> str:
    """The value for a validation message, or a stand-in when it could be a secret typed in the wrong field."""
    if isinstance(value, str) and _SECRET_SHAPE.match(value.strip()):
        return "a value that may be a secret (not shown)"
    return repr(value)


@dataclass(frozen=True)
class Problem:
    """One problem in one instance file, printed as `file:line: field: message`."""

    file: str
    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "field": self.field, "message": self.message}
