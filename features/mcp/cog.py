"""The `mcp` switch has no commands: the daemon's MCP server serves this instance while the feature is on."""

from __future__ import annotations

from discord.ext import commands
from supervisor.sdk import FeatureContext


class McpCog(commands.Cog, name="MCP"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
