"""DeepSeek's DSML: tool calls written as text with fullwidth bars, e.g.
`<｜DSML｜invoke name="tempban"><｜DSML｜parameter name="user_id">42<｜DSML｜/parameter><｜DSML｜/invoke>`."""

from __future__ import annotations

import re
import secrets
import time

from supervisor.ai.types import ToolCall

_OPEN = "<｜DSML｜"
# Closing tags come as <｜DSML｜/invoke>, </｜DSML｜invoke> or <｜DSML｜invoke>.
_INVOKE = re.compile(r"<｜DSML｜invoke\s+name=\"([^\"]+)\"[^>]*>(.*?)</?｜DSML｜/?invoke>", re.DOTALL)
_PARAMETER = re.compile(r"<｜DSML｜parameter\s+name=\"([^\"]+)\"[^>]*>(.*?)</?｜DSML｜/?parameter>", re.DOTALL)


def parse_dsml(content: str) -> tuple[str, list[ToolCall]]:
    """(content without the DSML part, calls). Text before the first DSML tag is kept; everything from it is cut."""
    start = content.find(_OPEN)
    if start < 0:
        return content, []
    calls = []
    for invoke in _INVOKE.finditer(content, start):
        arguments = {name: value.strip() for name, value in _PARAMETER.findall(invoke.group(2))}
        call_id = f"dsml_{int(time.time() * 1000)}_{secrets.token_hex(4)}"
        calls.append(ToolCall(call_id, invoke.group(1), arguments))
    return content[:start], calls
