"""config.toml and the personality file of one instance: parse, validate, and freeze."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from supervisor import registry
from supervisor.database import DEFAULT_COMMAND_TIMEOUT
from supervisor.problems import Problem, shown
from supervisor.safe_read import UnreadableFile, read_regular_file
from supervisor.settings_schema import Setting, did_you_mean, float_range, int_range, non_empty, validate_table
from supervisor.toml_lines import find_line, syntax_error_line

CONFIG_FILE = "config.toml"
PERSONALITY_MAX_BYTES = 64 * 1024
CONFIG_MAX_BYTES = 256 * 1024

DEFAULT_COMMAND_ROOT = "m"  # discord-bot-rs's default: its users type `!m ban`
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_ROOT_WORD = re.compile(r"^[a-z0-9_-]{0,32}$")


def _root_rule(value: str) -> str | None:
    if _ROOT_WORD.match(value):
        return None
    return "must be empty or one lowercase word (letters, digits, - or _), e.g. \"m\""


def _timezone_rule(value: str) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"unknown IANA time zone {shown(value)} (e.g. \"Europe/Berlin\")"
    return None


def _prefix_rule(value: str) -> str | None:
    if not value:
        return "must not be empty"
    if value != value.strip():
        return "must not start or end with whitespace"
    return None


ROOT_SCHEMA: Mapping[str, Setting] = {
    "bot_name": Setting(str, required=True, rule=non_empty, doc="the bot's display name in help and about"),
    "command_prefix": Setting(str, required=True, rule=_prefix_rule, doc="prefix of every command, e.g. \"!\""),
    "command_root": Setting(str, DEFAULT_COMMAND_ROOT, rule=_root_rule,
                            doc="parent command: \"m\" (the default, as in discord-bot-rs) gives `!m ping`; "
                                "\"\" gives flat commands (`!ping`)"),
    "personality_file": Setting(str, "personality.txt", rule=non_empty, doc="relative to the instance folder"),
    "timezone": Setting(str, "UTC", rule=_timezone_rule, doc="IANA zone for dates the bot writes"),
}

DATABASE_SCHEMA: Mapping[str, Setting] = {
    "pool_max_size": Setting(int, 2, rule=int_range(1, 50), doc="most connections this instance holds"),
    "command_timeout": Setting(float, DEFAULT_COMMAND_TIMEOUT, rule=float_range(0.1, 300.0),
                               doc="seconds a query or connection attempt may take before the command answers "
                                   "\"database unavailable\" (a frozen server never hangs a command)"),
}


def _tables() -> set[str]:
    return {"features", "database", *(f.table_name for f in registry.features().values() if f.has_table())}


@dataclass(frozen=True)
class InstanceConfig:
    bot_name: str
    command_prefix: str
    command_root: str
    personality_file: str
    timezone: str
    features: Mapping[str, bool]
    pool_max_size: int
    command_timeout: float
    settings: Mapping[str, Mapping[str, Any]]  # per feature table, defaults filled in
    personality: str
    warnings: tuple[Problem, ...] = ()  # shown by `check`; the instance runs
    env_names: frozenset[str] = frozenset()  # .env keys config.toml names (api_key_env): used, not stray

    def enabled_features(self) -> list[str]:
        return [name for name, on in self.features.items() if on]

    def command_start(self) -> str:
        """What a user types before a command name: `!` or `!m `."""
        return f"{self.command_prefix}{self.command_root} " if self.command_root else self.command_prefix


def load_config(folder: Path, label: str) -> tuple[InstanceConfig | None, list[Problem]]:
    """Read `folder/config.toml` and its personality file. `label` prefixes file names in problems."""
    config_label = f"{label}/{CONFIG_FILE}"
    read = _read_document(folder, config_label)
    if isinstance(read, Problem):
        return None, [read]
    text, document = read
    problems: list[Problem] = []

    def report(table: str, key: str | None, message: str) -> None:
        field_name = f"{table}.{key}" if table and key else (table or key or "")
        problems.append(Problem(config_label, field_name, message, find_line(text, table, key)))

    root_table = {k: v for k, v in document.items() if not isinstance(v, dict)}
    for table_name, table in document.items():
        if isinstance(table, dict) and table_name not in _tables():
            message = f"unknown table{did_you_mean(table_name, sorted(_tables()))}"
            problems.append(Problem(config_label, f"[{table_name}]", message, find_line(text, table_name, None)))
    root, root_problems = validate_table(root_table, ROOT_SCHEMA)
    for key, message in root_problems:
        report("", key, message)

    features, feature_problems = _load_features(document.get("features", {}))
    for key, message in feature_problems:
        report("features", key, message)

    database, database_problems = validate_table(document.get("database", {}), DATABASE_SCHEMA)
    for key, message in database_problems:
        report("database", key, message)

    warnings: list[Problem] = []
    settings = _feature_settings(document, features, report, warnings, config_label, text)

    _switch_off_unconfigured(features, settings, warnings, config_label, text)

    personality = ""
    if "personality_file" in root:
        personality, personality_problem = _load_personality(folder, label, root["personality_file"])
        if personality_problem:
            file_label, message = personality_problem
            if file_label == config_label:  # the setting itself is wrong: point at its line in config.toml
                line = find_line(text, "", "personality_file")
                problems.append(Problem(file_label, "personality_file", message, line))
            else:  # the file it names is: that file, no config.toml line number
                problems.append(Problem(file_label, "", message))

    if problems:
        return None, problems
    return InstanceConfig(
        bot_name=root["bot_name"],
        command_prefix=root["command_prefix"],
        command_root=root["command_root"],
        personality_file=root["personality_file"],
        timezone=root["timezone"],
        features=MappingProxyType(features),
        pool_max_size=database["pool_max_size"],
        command_timeout=database["command_timeout"],
        settings=MappingProxyType(settings),
        personality=personality,
        warnings=tuple(warnings),
        env_names=frozenset(_env_names(document)),
    ), []


def _read_document(folder: Path, config_label: str) -> tuple[str, dict[str, Any]] | Problem:
    """config.toml's text and its TOML document, or the one problem that stops reading it."""
    try:
        raw_bytes = read_regular_file(folder / CONFIG_FILE, CONFIG_MAX_BYTES)
    except FileNotFoundError:
        return Problem(config_label, "", "not found")
    except UnreadableFile as error:
        return Problem(config_label, "", str(error))
    try:
        text = raw_bytes.decode("utf-8").removeprefix("\ufeff")  # a BOM some Windows editors write
        return text, tomllib.loads(text)
    except UnicodeDecodeError:
        return Problem(config_label, "", "is not UTF-8 text")
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        return Problem(config_label, "", f"invalid TOML: {message}", syntax_error_line(message))


def _feature_settings(document: dict[str, Any], features: dict[str, bool],
                      report: Callable[[str, str | None, str], None], warnings: list[Problem], config_label: str,
                      text: str) -> dict[str, Mapping[str, Any]]:
    """Each feature's table, validated (errors through `report`, warnings appended), defaults filled in."""
    settings: dict[str, Mapping[str, Any]] = {}
    for name, feature in registry.features().items():
        if feature.validate is not None:
            table_name = feature.table_name
            values, errors, table_warnings = feature.validate(document.get(table_name))
            settings[name] = MappingProxyType(dict(values))
            for key, message in errors:
                report(*nested_field(table_name, key), message)
            if feature.table is None and not features.get(name):
                continue  # its own table and it is off: its errors count, its warnings would be noise
            for key, message in table_warnings:
                warnings.append(Problem(config_label, *_nested_warning(text, table_name, key, message)))
            continue
        if not feature.settings:
            continue
        values, table_problems = validate_table(document.get(name, {}), feature.settings)
        settings[name] = MappingProxyType(values)
        if name not in document and table_problems:
            if features.get(name):  # on, but its table is missing: off with a warning, as in discord-bot-rs
                features[name] = False
                warnings.append(Problem(config_label, f"features.{name}",
                                        f"is on but [{name}] is missing: {name} stays off",
                                        find_line(text, "features", name)))
            continue  # a feature that is off needs no table
        for key, message in table_problems:
            report(name, key, message)
    return settings


def _switch_off_unconfigured(features: dict[str, bool], settings: Mapping[str, Mapping[str, Any]],
                             warnings: list[Problem], config_label: str, text: str) -> None:
    """A feature switched on whose validator says its table is missing (`configured` False) stays off with a
    warning, as discord-bot-rs's "loud warnings, soft fail" did for [minecraft]."""
    for name, feature in registry.features().items():
        values = settings.get(name)
        if features.get(name) and values is not None and values.get("configured") is False:
            features[name] = False
            warnings.append(Problem(config_label, f"features.{name}",
                                    f"is on but [{feature.table_name}] is missing: {name} stays off",
                                    find_line(text, "features", name)))


def _env_names(value: Any) -> set[str]:
    """Every string in the document that reads like an environment variable's name (api_key_env = "X_KEY")."""
    if isinstance(value, str):
        return {value} if _ENV_NAME.match(value) else set()
    if isinstance(value, dict):
        return set().union(*(_env_names(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_env_names(item) for item in value))
    return set()


def nested_field(table: str, dotted_key: str) -> tuple[str, str | None]:
    """("ai", "providers.x.url") -> ("ai.providers.x", "url"): the TOML table a nested key is written in."""
    head, _, last = dotted_key.rpartition(".")
    return (f"{table}.{head}" if head else table), (last or None)


def _nested_warning(text: str, table: str, dotted_key: str, message: str) -> tuple[str, str, int | None]:
    where, key = nested_field(table, dotted_key)
    return (f"{where}.{key}" if key else where), message, find_line(text, where, key)


def _load_features(table: Any) -> tuple[dict[str, bool], list[tuple[str, str]]]:
    if not isinstance(table, dict):
        return {}, [("", "[features] must be a table of name = true/false")]
    shipped = registry.features()
    reserved = registry.reserved_names()
    broken = registry.broken()
    features = {name: feature.default_enabled for name, feature in shipped.items()}
    problems: list[tuple[str, str]] = []
    for name, value in table.items():
        if name in broken and name not in shipped:
            if value is not False:  # switched off, a broken install harms nobody
                problems.append((name, f"the installed feature cannot be loaded: {broken[name].error} "
                                       f"(from {broken[name].source})"))
        elif name not in shipped and name not in reserved:
            problems.append((name, f"unknown feature{did_you_mean(name, [*shipped, *reserved])}"))
        elif not isinstance(value, bool):
            problems.append((name, f"must be true or false, not {type(value).__name__} {value!r}"))
        elif value and name in reserved:
            problems.append((name, "is not available in this release yet"))
        elif name in shipped:
            features[name] = value
    return features, problems


def _load_personality(folder: Path, label: str, relative: str) -> tuple[str, tuple[str, str] | None]:
    """Return the personality text, or ("", (file label, message))."""
    file_label = f"{label}/{relative}"
    if Path(relative).is_absolute():
        return "", (f"{label}/{CONFIG_FILE}", f"must be relative to the instance folder, not {relative!r}")
    base = folder.resolve()
    path = (folder / relative).resolve()  # follows symlinks, so a link pointing out is caught too
    if not path.is_relative_to(base):
        return "", (f"{label}/{CONFIG_FILE}", f"{relative!r} points outside the instance folder")
    try:
        data = read_regular_file(path, PERSONALITY_MAX_BYTES)
    except FileNotFoundError:
        return "", (file_label, "personality file not found")
    except UnreadableFile as error:
        return "", (file_label, f"personality file {error}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return "", (file_label, f"personality file is not UTF-8 (byte {error.start})")
    if not text.strip():
        return "", (file_label, "personality file is empty")
    return text.strip(), None
