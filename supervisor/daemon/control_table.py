"""Control-socket commands as a table: each command names its arguments, their types, and its handler.

`dispatch` checks a request against its command's arguments before the handler runs, so a handler sees only
well-typed values (a `names` string is refused, never reloaded character by character) and every refusal is a
clear answer naming the command and the argument.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

Answer = dict[str, Any]


@dataclass(frozen=True)
class Arg:
    """One argument of a control command: its JSON type, and whether a request must carry it."""

    kind: str  # "name" (a non-empty string), "names" (a list of non-empty strings), "object", "bool", "string"
    required: bool = True


_KINDS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "name": ("an instance name (a non-empty string)", lambda v: isinstance(v, str) and bool(v)),
    "string": ("a string", lambda v: isinstance(v, str)),
    "names": ("a list of instance names", lambda v: isinstance(v, list) and all(isinstance(n, str) and n for n in v)),
    "object": ("a JSON object", lambda v: isinstance(v, dict)),
    "bool": ("true or false", lambda v: isinstance(v, bool)),
}


def _kind_of(value: Any) -> str:
    return {str: "a string", list: "a list", dict: "an object", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class ControlCommand:
    """A handler taking the validated arguments as keywords, and the arguments it accepts."""

    handler: Callable[..., Awaitable[Answer]]
    args: dict[str, Arg] = field(default_factory=dict)
    summary: str = ""

    def check(self, command: str, payload: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """The handler's keyword arguments, or an error for the client."""
        unknown = sorted(set(payload) - set(self.args) - {"command"})
        if unknown:
            return {}, f"{command}: unknown argument {', '.join(map(repr, unknown))}"
        values: dict[str, Any] = {}
        for name, arg in self.args.items():
            value = payload.get(name)
            if value is None:
                if arg.required:
                    what = _KINDS[arg.kind][0]
                    return {}, f"{command} needs {name!r}: {what}"
                continue
            what, valid = _KINDS[arg.kind]
            if not valid(value):
                return {}, f"{command}: {name!r} must be {what} (got {_kind_of(value)})"
            values[name] = value
        return values, None


async def dispatch(table: dict[str, ControlCommand], payload: dict[str, Any]) -> Answer:
    command = payload.get("command")
    if not isinstance(command, str) or command not in table:
        return {"ok": False, "error": f"unknown command {command!r} (commands: {', '.join(sorted(table))})"}
    entry = table[command]
    values, error = entry.check(command, payload)
    if error is not None:
        return {"ok": False, "error": error}
    return await entry.handler(**values)
