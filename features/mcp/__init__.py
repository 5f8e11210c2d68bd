"""MCP: lets MCP clients use this bot through the daemon's one MCP endpoint, limited to an allow-list."""

from supervisor.sdk import MCP_READ_ONLY_TOOLS, Feature, Setting, mcp_unknown_tools

FEATURE = Feature(
    name="mcp",
    summary="MCP tools for this bot through the daemon's MCP endpoint (read-only unless listed)",
    cog="features.mcp.cog:McpCog",
    default_enabled=False,
    # What the default, read-only tools need (get_bans also needs Ban Members, which moderation asks for). An
    # instance that lists privileged tools grants their permissions itself (docs/mcp.md).
    permissions=frozenset({"view_channel", "read_message_history"}),
    settings={
        "tools": Setting(
            list, list(MCP_READ_ONLY_TOOLS), rule=mcp_unknown_tools,
            doc="tools MCP clients may call on this bot; default: the read-only ones (see docs/mcp.md)",
        ),
    },
)
