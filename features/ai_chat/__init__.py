"""AI chat: mention the bot (or reply to it) and it answers in the instance's personality, with tools."""

from supervisor.sdk import EnvKey, Feature
from supervisor.sdk.ai import ai_env_warnings, validate_ai_table

FEATURE = Feature(
    name="ai_chat",
    summary="answers mentions in the instance's personality; web search, stock, moderation and music tools",
    cog="features.ai_chat.cog:AIChatCog",
    # On by default, but it answers only when a provider is available: a key of a routed provider in .env, an
    # [ai.providers] entry (a local model needs no key), or the sandbox's stand-in model.
    default_enabled=True,
    permissions=frozenset({"send_messages", "read_message_history", "embed_links", "view_channel"}),
    table="ai",
    validate=validate_ai_table,
    env_warnings=ai_env_warnings,
    env={
        "DEEPSEEK_API_KEY": EnvKey("key of the default chat and reasoner providers (DeepSeek)"),
        "GEMINI_API_KEY": EnvKey("key of the default vision provider (Gemini Flash)"),
        "GROK_API_KEY": EnvKey("key of the default grok provider (used only in [ai.fallback] on_censored)"),
    },
)
