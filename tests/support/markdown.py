"""The shell commands a Markdown document shows, as a reader would type them."""

from __future__ import annotations

import re
import shlex

SHELL_BLOCK = re.compile(r"^ *```sh\n(.*?)^ *```", re.MULTILINE | re.DOTALL)


def commands(markdown: str) -> list[list[str]]:
    """Every command line of the sh blocks, continuation lines joined, split at && and |."""
    found = []
    for block in SHELL_BLOCK.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            current: list[str] = []
            for word in [*words, "&&"]:
                if word in ("&&", "|", ";"):
                    if current:
                        found.append(current)
                    current = []
                else:
                    current.append(word)
    return found
