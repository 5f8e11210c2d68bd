"""The MCP tool names an instance may allow in `[mcp] tools`: data only, shared by the `mcp` feature's settings
and the daemon's MCP server (supervisor/mcp/), which checks that its catalogue matches."""

from __future__ import annotations

# Read-only tools: the default allow-list. They read what the bot can see, and reveal no secret.
READ_ONLY_TOOLS = (
    "list_guilds", "get_guild_info", "get_recent_messages", "search_messages", "list_channels", "list_roles",
    "list_members", "get_member", "get_bans",
)

# Tools that change something, read private messages or reveal webhook tokens: only when listed.
PRIVILEGED_TOOLS = (
    "send_message", "delete_messages", "add_reaction", "remove_reaction",
    "create_channel", "delete_channel", "edit_channel", "move_channel", "create_voice_channel",
    "create_stage_channel", "edit_voice_channel", "set_channel_permissions",
    "create_role", "delete_role", "edit_role",
    "assign_role", "remove_role", "ban_member", "unban_member", "kick_member", "timeout_member", "remove_timeout",
    "set_nickname", "move_voice_member", "disconnect_voice_member", "modify_voice_state",
    "send_private_message", "read_private_messages", "edit_private_message", "delete_private_message",
    "list_webhooks", "create_webhook", "delete_webhook", "send_webhook_message",
)

ALL_TOOLS = READ_ONLY_TOOLS + PRIVILEGED_TOOLS


def unknown_tools(value: list[object]) -> str | None:
    """A `Setting` rule for `[mcp] tools`."""
    unknown = [name for name in value if name not in ALL_TOOLS]
    if unknown:
        return f"unknown tool(s): {', '.join(map(str, unknown))}; the catalogue is in docs/mcp.md"
    return None
