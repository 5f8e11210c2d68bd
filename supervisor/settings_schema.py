"""Declarative, typed settings for config.toml tables: each field knows its type, default and rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from supervisor.problems import shown
from supervisor.text import parse_duration

# A rule returns an error message, or None when the value is fine.
Rule = Callable[[Any], str | None]

_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", float: "a number", list: "a list"}


@dataclass(frozen=True)
class Setting:
    kind: type
    default: Any = None
    required: bool = False
    rule: Rule | None = None
    doc: str = ""

    def type_error(self, value: Any) -> str | None:
        # TOML booleans are Python ints' subclass: never accept one for the other.
        if self.kind is bool:
            ok = isinstance(value, bool)
        elif self.kind is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        else:
            ok = isinstance(value, self.kind)
        if ok:
            return None
        return f"must be {_TYPE_NAMES.get(self.kind, self.kind.__name__)}, not {type(value).__name__} {shown(value)}"


def int_range(low: int, high: int) -> Rule:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}, got {v}"


def float_range(low: float, high: float) -> Rule:
    return lambda v: None if low <= v <= high else f"must be between {low} and {high}, got {v}"


def one_of(*choices: str) -> Rule:
    return lambda v: None if v in choices else f"must be one of {', '.join(map(repr, choices))}, got {shown(v)}"


def non_empty(value: Any) -> str | None:
    return None if str(value).strip() else "must not be empty"


def snowflake(value: Any) -> str | None:
    """A Discord ID written as a string of digits, as discord-bot-rs's config.toml has them."""
    text = str(value)
    if text.isascii() and text.isdigit() and 0 < int(text) < 2**64:
        return None
    return f"must be a Discord ID (a string of digits, such as \"123456789012345678\"), got {value!r}"


def duration(value: Any) -> str | None:
    """`30s 5m 2h 3d 1w`: the form every duration in config.toml and in commands takes."""
    if parse_duration(str(value)) is not None:
        return None
    return f"must be a duration such as \"30m\", \"12h\" or \"3d\" (s, m, h, d or w), got {value!r}"


def relative_file(value: Any) -> str | None:
    """A file name inside the instance folder (checked again when the file is read)."""
    text = str(value).strip()
    if not text:
        return "must not be empty"
    if text.startswith(("/", "\\")) or ".." in text.replace("\\", "/").split("/"):
        return f"must be a file inside the instance folder, got {value!r}"
    return None


def validate_table(
    table: Mapping[str, Any], schema: Mapping[str, Setting]
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Return the table with defaults filled in, and (key, message) pairs for every problem."""
    values: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for key, value in table.items():
        setting = schema.get(key)
        if setting is None:
            problems.append((key, f"unknown key{did_you_mean(key, schema)}"))
            continue
        message = setting.type_error(value) or (setting.rule(value) if setting.rule else None)
        if message:
            problems.append((key, message))
        else:
            values[key] = float(value) if setting.kind is float else value
    for key, setting in schema.items():
        if key in table:
            continue
        if setting.required:
            problems.append((key, "is required"))
        else:
            values[key] = setting.default
    return values, problems


def did_you_mean(name: str, choices: Mapping[str, Any] | list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
