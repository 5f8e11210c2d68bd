"""One instance's own MCP listener (MCP_PORT in its .env), as discord-bot-rs served one per bot: `/mcp`, the
same bearer auth, 64 KiB cap, Host check and non-loopback guard as the fleet endpoint, plus the instance's
webhooks at `/webhook/<name>` (the Minecraft chargeback).

It serves this instance alone: no `instance` argument, no `list_instances`. It needs no `[features] mcp` (MCP_PORT
is the opt-in, as the original's server always ran); the tools are this instance's `[mcp] tools` allow-list,
read-only by default. It starts when the bot is first ready (as the original's did) and stops with the run.
"""

from __future__ import annotations

from typing import Any

from supervisor.logs import get_logger
from supervisor.mcp.catalogue import TOOLS, ToolError
from supervisor.mcp.router import LIST_INSTANCES, McpRouter, Outcome
from supervisor.mcp.server import McpConfigError, McpHttpService, McpListen
from supervisor.mcp.webhook_routes import instance_resolver
from supervisor.sdk.mcp_tools import READ_ONLY_TOOLS

log = get_logger("supervisor.mcp")


class _OneInstance:
    def __init__(self, runner: Any):
        self.runners: dict[str, Any] = {runner.spec.name: runner}


def allowed_tools(runner: Any) -> list[str]:
    settings = runner.spec.config.settings.get("mcp", {})
    return list(settings.get("tools", READ_ONLY_TOOLS))


class InstanceRouter(McpRouter):
    """The fleet router, pinned to one instance and without the `[features] mcp` switch."""

    def __init__(self, runner: Any):
        super().__init__(_OneInstance(runner))
        self.runner = runner

    async def call(self, name: str, arguments: dict[str, Any] | None) -> Outcome:
        if name == LIST_INSTANCES:
            return Outcome(f"Unknown tool: {name}", True)
        arguments = {**(arguments or {}), "instance": self.runner.spec.name}
        tool = TOOLS.get(name)
        home = self.runner.spec.env.guild_id
        if home and tool is not None and "guild_id" not in arguments \
                and "guild_id" in tool.input_schema().get("properties", {}):
            arguments["guild_id"] = str(home)  # GUILD_ID is the default guild, as in the original
        return await super().call(name, arguments)

    @staticmethod
    def _usable_bot(runner: Any, tool: str) -> Any:
        if tool not in allowed_tools(runner):
            raise ToolError(f"Tool {tool} is not allowed for instance {runner.spec.name}: add it to `tools` under "
                            "[mcp] in its config.toml")
        bot = runner.ctx.bot if runner.ctx else None
        if bot is None or not bot.is_ready():
            raise ToolError(f"Instance {runner.spec.name} is not running (state: {runner.status.state})")
        return bot

    async def list_tools(self) -> list[dict[str, Any]]:
        allowed = set(allowed_tools(self.runner))
        return [{"name": tool.name, "description": tool.description, "inputSchema": tool.input_schema()}
                for tool in TOOLS.values() if tool.name in allowed]

    async def call_tool(self, name: str, arguments: dict[str, Any] | None) -> tuple[str, bool]:
        outcome = await self.call(name, arguments)
        return outcome.text, outcome.is_error


async def open_instance_listener(runner: Any) -> McpHttpService | None:
    """Start the instance's listener if its .env asks for one; a failure is logged and shown in `status`, and
    the bot keeps running (as in the original)."""
    settings = runner.spec.env.mcp
    if settings is None:
        return None
    ctx = runner.ctx
    if settings.refused:
        log.error("instance_mcp_refused", reason=settings.refused)
        ctx.warnings["mcp:listener"] = settings.refused
        return None
    router = InstanceRouter(runner)
    listen = McpListen(settings.host, settings.port, settings.token)
    service = McpHttpService(listen, router.list_tools, router.call_tool,
                             webhooks=instance_resolver(lambda: runner.ctx.services if runner.ctx else None))
    try:
        await service.start()
    except McpConfigError as error:
        log.error("instance_mcp_failed", reason=str(error))
        ctx.warnings["mcp:listener"] = str(error)
        return None
    ctx.warnings.pop("mcp:listener", None)
    return service
