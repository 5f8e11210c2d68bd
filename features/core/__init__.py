"""Core feature, always on: help, ping and about."""

from supervisor.sdk import Feature

FEATURE = Feature(
    name="core",
    summary="help, ping and about",
    cog="features.core.cog:CoreCog",
    default_enabled=True,
    always_on=True,
    permissions=frozenset({"view_channel", "send_messages", "embed_links", "read_message_history"}),
)
