"""The shell commands a Markdown document shows, as a reader would type them."""

from __future__ import annotations

import re

SHELL_BLOCK = re.compile(r"^ *```sh\n(.*?)^ *```", re.MULTILINE | re.DOTALL)



