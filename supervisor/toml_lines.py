"""Find the line of a key in TOML text, so problems can say `config.toml:LINE`.

tomllib gives positions only for syntax errors; for semantic errors we scan the text. Good enough for the
flat tables config.toml uses; returns None when the key is not written literally.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


def find_line(text: str, table: str, key: str | None) -> int | None:
    """Line (1-based) of `key` inside `[table]` (`""` is the root table); of the header when key is None."""
    current = ""
    key_pattern = re.compile(rf"^\s*(\"{re.escape(key)}\"|{re.escape(key)})\s*=") if key else None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = header.group(1).replace(" ", "").replace('"', "")
            if key is None and current == table:
                return number
            continue
        if key_pattern and current == table and key_pattern.match(line):
            return number
    return None


_PARSER_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def syntax_error_line(message: str) -> int | None:
    match = _PARSER_POSITION.search(message)
    return int(match.group(1)) if match else None
