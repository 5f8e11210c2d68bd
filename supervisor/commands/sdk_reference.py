"""docs/sdk.md's reference: every name `supervisor.sdk` exports, with its signature and docstring.

Generated from the SDK itself, so the page cannot drift from the code; a test keeps the two equal. Regenerate it
with `python -m supervisor.commands.sdk_reference docs/sdk.md`.
"""

from __future__ import annotations

import enum
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

from supervisor.commands import generated_docs

GENERATED_BEGIN = "<!-- begin: generated from supervisor/sdk by `python -m supervisor.commands.sdk_reference` -->"
GENERATED_END = "<!-- end: generated from supervisor/sdk -->"
_ADDRESS = re.compile(r" at 0x[0-9a-f]+")
_QUOTED_ANNOTATION = re.compile(r"(: |-> )'([^']*)'")  # annotations are strings (from __future__ import annotations)


def _doc(thing: Any) -> str:
    """Its own docstring only: never one inherited from discord.py or object."""
    text = thing.__doc__ if isinstance(thing, type) or inspect.isroutine(thing) or isinstance(thing, property) \
        else inspect.getdoc(thing)
    return inspect.cleandoc(text or "")


def _signature(thing: Any) -> str:
    try:
        signature = inspect.signature(thing)
    except (TypeError, ValueError):
        return "(...)"
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    text = str(signature.replace(parameters=parameters))
    return _QUOTED_ANNOTATION.sub(r"\1\2", _ADDRESS.sub("", text))


def _members(cls: type) -> list[tuple[str, Any]]:
    """Public methods and properties the class itself defines (not those inherited from discord.py)."""
    found = []
    for name, member in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        if isinstance(member, property | staticmethod | classmethod) or inspect.isfunction(member):
            found.append((name, member))
    return found


def _class(name: str, cls: type) -> list[str]:
    lines = [f"### class `{name}`", ""]
    if issubclass(cls, enum.Enum):
        lines += [_doc(cls), "", ", ".join(f"`{m.name}` ({m.value!r})" for m in cls), ""]
        return lines
    if _doc(cls) and not _doc(cls).startswith(f"{cls.__name__}("):  # not a dataclass's generated one
        lines += [_doc(cls), ""]
    for member_name, member in _members(cls):
        if isinstance(member, property):
            lines.append(f"- `{member_name}` (property): {_first_paragraph(member)}")
        else:
            function = member.__func__ if isinstance(member, staticmethod | classmethod) else member
            shown = name if member_name == "__init__" else f".{member_name}"
            prefix = "async " if inspect.iscoroutinefunction(function) else ""
            lines.append(f"- `{prefix}{shown}{_signature(function)}`" + (
                f": {_first_paragraph(function)}" if _doc(function) else ""))
    return [*lines, ""]


def _first_paragraph(thing: Any) -> str:
    return " ".join(_doc(thing).split("\n\n")[0].split())


def _entry(name: str, thing: Any) -> list[str]:
    if inspect.isclass(thing):
        return _class(name, thing)
    if callable(thing):
        prefix = "async " if inspect.iscoroutinefunction(thing) else ""
        return [f"### `{prefix}{name}{_signature(thing)}`", "", _doc(thing) or "(no docstring)", ""]
    shown = f"frozenset({{{', '.join(map(repr, sorted(thing)))}}})" if isinstance(thing, frozenset) else repr(thing)
    return [f"### `{name}` = `{shown}`", ""]  # a set sorted: the page must not change with hash seeds


def reference() -> str:
    sdk = importlib.import_module("supervisor.sdk")
    lines = [f"The kit exports {len(sdk.__all__)} names. Import them from `supervisor.sdk` only.", ""]
    for name in sorted(sdk.__all__, key=str.lower):
        lines += _entry(name, getattr(sdk, name))
    return "\n".join(lines).rstrip() + "\n"


def generated_section(document: str) -> str | None:
    return generated_docs.section(document, GENERATED_BEGIN, GENERATED_END)


def update_document(path: Path) -> None:
    generated_docs.rewrite(path, GENERATED_BEGIN, GENERATED_END, reference())


if __name__ == "__main__":
    update_document(Path(sys.argv[1]))
