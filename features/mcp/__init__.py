"""MCP: lets MCP clients use this bot through the daemon's one MCP endpoint, limited to an allow-list."""

from supervisor.sdk import MCP_READ_ONLY_TOOLS, Feature, Setting, mcp_unknown_tools

FEATURE = Feature(
    name="mcp",
    summary="MCP tools for this bot through the daemon's MCP endpoint (read-only unless listed)",
    cog="features.mcp.cog:McpCog",
    default_enabled=False,
    # What the privileged tools can do, if an instance lists them; the read-only ones need only to see.
    permissions=frozenset({
        "view_channel", "read_message_history", "send_messages", "manage_messages", "add_reactions",
        "manage_channels", "manage_roles", "ban_members", "kick_members", "moderate_members", "manage_nicknames",
        "move_members", "mute_members", "deafen_members", "manage_webhooks",
    }),
    settings={
        "tools": Setting(
            list, list(MCP_READ_ONLY_TOOLS), rule=mcp_unknown_tools,
            doc="tools MCP clients may call on this bot; default: the read-only ones (see docs/mcp.md)",
        ),
    },
)
