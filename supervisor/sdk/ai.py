"""Model providers for features: one chat completion through this instance's `[ai]` configuration.

The provider layer is shared infrastructure: `ai_chat` and `welcome` both speak through it, with one HTTP
pool and one per-endpoint concurrency limit for the whole process. The `[ai]` table is validated once, by the
config loader, whether or not `ai_chat` is on. The SDKs (openai, anthropic) load on the first call only.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from supervisor.ai.config import DEFAULT_AI, SANDBOX_MODEL_OPTION, AIConfig, Provider, env_warnings, validate_ai
from supervisor.ai.types import Censored, Completion, ProviderError, ToolCall

if TYPE_CHECKING:
    from supervisor.ai.router import Router
    from supervisor.sdk.context import FeatureContext

__all__ = ["AIUnavailable", "Censored", "Completion", "Provider", "ProviderError", "Router", "ToolCall",
           "ai_config", "ai_env_warnings", "complete", "router", "validate_ai_table"]

# Where the config loader keeps the validated [ai] table (the ai_chat feature declares table "ai").
AI_SETTINGS_OWNER = "ai_chat"


class AIUnavailable(Exception):
    """A configured provider failed (error, timeout, refusal). The message is safe to log and never holds a key
    or the upstream body."""


def ai_config(ctx: FeatureContext) -> AIConfig:
    """This instance's `[ai]` configuration as of now (the defaults when config.toml has no [ai] table)."""
    settings = ctx.config.settings.get(AI_SETTINGS_OWNER)
    config = settings.get("config") if settings else None
    return config if isinstance(config, AIConfig) else DEFAULT_AI


async def router(ctx: FeatureContext) -> Router:
    """This instance's providers as configured right now (a live config edit applies to the next call)."""
    if "supervisor.ai.router" not in sys.modules:  # the SDKs take a while to import: never on the event loop
        await asyncio.to_thread(importlib.import_module, "supervisor.ai.router")
    from supervisor.ai.client import SHARED_KEY, ProviderClients
    from supervisor.ai.router import Router

    clients = await ctx.shared(SHARED_KEY, ProviderClients)
    return Router(ai_config(ctx), ctx.secret, clients, ctx.log, ctx.supervisor_setting(SANDBOX_MODEL_OPTION))


async def complete(ctx: FeatureContext, *, system: str, user: str, max_tokens: int | None = None) -> str | None:
    """One completion through this instance's `[ai.routing] chat` provider (and its censorship cascade).

    Returns None when no chat provider is available (none routed, or its key is not in `.env`); raises
    `AIUnavailable` when the provider fails. The text is the model's, unsanitised: send it with allowed
    mentions that ping nobody.
    """
    providers = await router(ctx)
    provider = providers.route("chat")
    if provider is None:
        return None
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    try:
        completion = await providers.complete_with_cascade(provider, messages, max_tokens=max_tokens)
    except ProviderError as error:
        raise AIUnavailable(str(error)) from None
    return completion.text


def validate_ai_table(raw: object) -> tuple[dict[str, AIConfig], list[tuple[str, str]], list[tuple[str, str]]]:
    """The `[ai]` table for the config loader: ({"config": AIConfig}, errors, warnings)."""
    config, errors, warnings = validate_ai(raw)
    return {"config": config}, errors, warnings


def ai_env_warnings(values: Mapping[str, object], secrets: Mapping[str, str]) -> list[tuple[str, str]]:
    config = values.get("config")
    return env_warnings(config, secrets) if isinstance(config, AIConfig) else []


def __getattr__(name: str) -> object:
    if name == "Router":  # loads the SDKs: only on demand
        from supervisor.ai.router import Router

        return Router
    raise AttributeError(f"module 'supervisor.sdk.ai' has no attribute {name!r}")
