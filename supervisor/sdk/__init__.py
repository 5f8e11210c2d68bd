"""The feature kit: the one part of the supervisor that features import.

A feature package declares `FEATURE = Feature(...)` in its `__init__.py`; its Cog takes a `FeatureContext`.
Names load lazily, so a declaration (read by `check` and `features`) does not pull in discord.py.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    # declaration
    "Feature": "supervisor.sdk.feature",
    "EnvKey": "supervisor.sdk.feature",
    "PRIVILEGED_INTENTS": "supervisor.sdk.feature",
    "Setting": "supervisor.settings_schema",
    "int_range": "supervisor.settings_schema",
    "float_range": "supervisor.settings_schema",
    "non_empty": "supervisor.settings_schema",
    "one_of": "supervisor.settings_schema",
    "snowflake": "supervisor.settings_schema",
    "duration": "supervisor.settings_schema",
    "relative_file": "supervisor.settings_schema",
    "validate_table": "supervisor.settings_schema",
    # runtime
    "FeatureContext": "supervisor.sdk.context",
    "InstanceFileError": "supervisor.sdk.context",
    "Periodic": "supervisor.sdk.periodic",
    "SystemClock": "supervisor.sdk.clock",
    "AdjustableClock": "supervisor.sdk.clock",
    "SharedServices": "supervisor.sdk.shared",
    "UserError": "supervisor.runtime.errors",
    "DATABASE_DOWN": "supervisor.runtime.errors",
    "is_database_unavailable": "supervisor.database",
    "Duration": "supervisor.sdk.converters",
    "http_session": "supervisor.sdk.http",
    "Confirm": "supervisor.sdk.confirm",
    "count": "supervisor.runtime.counters",  # a feature's own counter of this instance, shown on /metrics
    "discord_call": "supervisor.sdk.rest",
    "CallResult": "supervisor.sdk.rest",
    "Outcome": "supervisor.sdk.rest",
    "DiscordCode": "supervisor.sdk.rest",
    "DISCORD_TIMEOUT": "supervisor.sdk.rest",
    "WebhookRequest": "supervisor.sdk.webhooks",
    "WebhookResponse": "supervisor.sdk.webhooks",
    "webhook_key": "supervisor.sdk.webhooks",
    # helpers
    "KeyedLocks": "supervisor.keyed_locks",
    "SlidingWindowLimiter": "supervisor.ratelimit",
    "BLURPLE": "supervisor.embeds",
    "RED": "supervisor.embeds",
    "GREEN": "supervisor.embeds",
    "GOLD": "supervisor.embeds",
    "DESCRIPTION_LIMIT": "supervisor.embeds",
    "FIELD_VALUE_LIMIT": "supervisor.embeds",
    "fit_lines": "supervisor.embeds",
    "parse_duration": "supervisor.text",
    "format_duration": "supervisor.text",
    "truncate": "supervisor.text",
    "VERSION": "supervisor.sdk.version",
    # model providers (the [ai] table): one completion through this instance's chat provider
    "complete": "supervisor.sdk.ai",
    "AIUnavailable": "supervisor.sdk.ai",
    "MCP_READ_ONLY_TOOLS": "supervisor.sdk.mcp_tools",
    "mcp_unknown_tools": "supervisor.sdk.mcp_tools",
}

__all__ = [
    "BLURPLE",
    "DATABASE_DOWN",
    "DESCRIPTION_LIMIT",
    "DISCORD_TIMEOUT",
    "FIELD_VALUE_LIMIT",
    "GOLD",
    "GREEN",
    "MCP_READ_ONLY_TOOLS",
    "PRIVILEGED_INTENTS",
    "RED",
    "VERSION",
    "AIUnavailable",
    "AdjustableClock",
    "CallResult",
    "Confirm",
    "DiscordCode",
    "Duration",
    "EnvKey",
    "Feature",
    "FeatureContext",
    "InstanceFileError",
    "KeyedLocks",
    "Outcome",
    "Periodic",
    "Setting",
    "SharedServices",
    "SlidingWindowLimiter",
    "SystemClock",
    "UserError",
    "WebhookRequest",
    "WebhookResponse",
    "complete",
    "count",
    "discord_call",
    "duration",
    "fit_lines",
    "float_range",
    "format_duration",
    "http_session",
    "int_range",
    "is_database_unavailable",
    "mcp_unknown_tools",
    "non_empty",
    "one_of",
    "parse_duration",
    "relative_file",
    "snowflake",
    "truncate",
    "validate_table",
    "webhook_key",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'supervisor.sdk' has no attribute {name!r}")
    return getattr(importlib.import_module(module), _RENAMED.get(name, name))


# Exported under a clearer name than the one in its module.
_RENAMED = {"MCP_READ_ONLY_TOOLS": "READ_ONLY_TOOLS", "mcp_unknown_tools": "unknown_tools"}


if TYPE_CHECKING:
    from supervisor.database import is_database_unavailable
    from supervisor.embeds import (
        BLURPLE,
        DESCRIPTION_LIMIT,
        FIELD_VALUE_LIMIT,
        GOLD,
        GREEN,
        RED,
        fit_lines,
    )
    from supervisor.keyed_locks import KeyedLocks
    from supervisor.ratelimit import SlidingWindowLimiter
    from supervisor.runtime.counters import count
    from supervisor.runtime.errors import DATABASE_DOWN, UserError
    from supervisor.sdk.ai import AIUnavailable, complete
    from supervisor.sdk.clock import AdjustableClock, SystemClock
    from supervisor.sdk.confirm import Confirm
    from supervisor.sdk.context import FeatureContext, InstanceFileError
    from supervisor.sdk.converters import Duration
    from supervisor.sdk.feature import PRIVILEGED_INTENTS, EnvKey, Feature
    from supervisor.sdk.http import http_session
    from supervisor.sdk.mcp_tools import READ_ONLY_TOOLS as MCP_READ_ONLY_TOOLS
    from supervisor.sdk.mcp_tools import unknown_tools as mcp_unknown_tools
    from supervisor.sdk.periodic import Periodic
    from supervisor.sdk.rest import DISCORD_TIMEOUT, CallResult, DiscordCode, Outcome, discord_call
    from supervisor.sdk.shared import SharedServices
    from supervisor.sdk.version import VERSION
    from supervisor.sdk.webhooks import WebhookRequest, WebhookResponse, webhook_key
    from supervisor.settings_schema import (
        Setting,
        duration,
        float_range,
        int_range,
        non_empty,
        one_of,
        relative_file,
        snowflake,
        validate_table,
    )
    from supervisor.text import format_duration, parse_duration, truncate
