"""A feature's declaration: what it is, what it needs, and what a user may set. Read without importing its Cog."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from supervisor.settings_schema import Setting

# Gateway intents Discord makes an application owner switch on in the developer portal.
PRIVILEGED_INTENTS = frozenset({"members", "presences", "message_content"})


@dataclass(frozen=True)
class EnvKey:
    """A `.env` key a feature reads. Documented; required only when `required` says so."""

    doc: str
    required: bool = False


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

    def load_cog_class(self) -> type[Any]:
        module_name, _, class_name = self.cog.partition(":")
        return getattr(importlib.import_module(module_name), class_name)

    def privileged_intents(self) -> frozenset[str]:
        return self.intents & PRIVILEGED_INTENTS
