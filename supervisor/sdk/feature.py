"""A feature's declaration: what it is, what it needs, and what a user may set. Read without importing its Cog."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from supervisor.settings_schema import Setting

# Gateway intents Discord makes an application owner switch on in the developer portal.
PRIVILEGED_INTENTS = frozenset({"members", "presences", "message_content"})

Issues = list[tuple[str, str]]
TableValidator = Callable[[Any], tuple[Mapping[str, Any], Issues, Issues]]


@dataclass(frozen=True)
class EnvKey:
    """A `.env` key a feature reads. Documented; required only when `required` says so."""

    doc: str
    required: bool = False
    # Unset while the feature is on: the feature cannot do its job. `check` and `status` say this (a warning).
    missing: str | None = None


@dataclass(frozen=True)
class Feature:
    """Declared by each feature package as `FEATURE = Feature(...)` in its `__init__.py`.

    `cog` is "module:Class"; the class takes one `FeatureContext`. It is imported only when an instance
    actually turns the feature on, so `check` and `features` never import discord-heavy code.
    """

    name: str
    summary: str
    cog: str
    default_enabled: bool = False
    intents: frozenset[str] = frozenset()  # discord.Intents flag names beyond guilds, messages and content
    permissions: frozenset[str] = frozenset()  # discord.Permissions flag names the bot needs in a guild
    settings: Mapping[str, Setting] = field(default_factory=dict)  # its config.toml table, `[name]`
    env: Mapping[str, EnvKey] = field(default_factory=dict)
    always_on: bool = False  # core: not a `[features]` switch
    # A nested config table (e.g. `[ai]` with `[ai.providers.<name>]`) instead of flat `settings`: `table` names it
    # when it differs from the feature's name, `validate` turns the raw table (None when absent) into
    # (values, errors, warnings), each issue a (dotted key, message) pair. Validated whether or not the feature is on.
    table: str | None = None
    validate: TableValidator | None = None
    # Warnings that need the instance's `.env` (a provider whose key is unset): (values, secrets) -> issues.
    env_warnings: Callable[[Mapping[str, Any], Mapping[str, str]], list[tuple[str, str]]] | None = None
    # "package:folder" of this feature's own SQL migrations (<14-digit UTC timestamp>_<description>.sql), applied
    # to an instance's schema when the feature is on there (before its Cog loads), recorded as this feature's.
    migrations: str | None = None

    @property
    def table_name(self) -> str:
        return self.table or self.name

    def has_table(self) -> bool:
        return bool(self.settings) or self.validate is not None

    def load_cog_class(self) -> type[Any]:
        module_name, _, class_name = self.cog.partition(":")
        return getattr(importlib.import_module(module_name), class_name)

    def privileged_intents(self) -> frozenset[str]:
        return self.intents & PRIVILEGED_INTENTS
