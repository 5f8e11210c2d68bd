"""Route an MCP tool call to an instance of the fleet, enforce its switch and allow-list, and run the tool.

Without `instance`, a call goes to the instance whose bot is in `guild_id`, as the original's gateway did. The
fleet is read at each call, so instances added, removed, failed or paused show at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from supervisor.daemon.status import State
from supervisor.logs import get_logger
from supervisor.mcp import tools_channels, tools_members, tools_messages, tools_private, tools_roles, tools_webhooks
from supervisor.mcp.catalogue import TOOLS, Call, ToolError
from supervisor.sdk.mcp_tools import ALL_TOOLS

assert set(TOOLS) == set(ALL_TOOLS), "the catalogue and supervisor/sdk/mcp_tools.py must list the same tools"
_FAMILIES = (tools_channels, tools_members, tools_messages, tools_private, tools_roles, tools_webhooks)

LIST_INSTANCES = "list_instances"
NO_INSTANCES = "No instances."
TOOL_CALL_SECONDS = 120.0  # a whole tool (search pages through history); each Discord request has its own 10 s
INSTANCE_PROPERTY = {
    "type": "string",
    "description": "Bot instance to route to (its folder name under instances/); if omitted, routes by guild_id.",
}

log = get_logger("supervisor.mcp")


class FleetView(Protocol):
    """What the router needs of the daemon: its runners, by instance name."""

    runners: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    text: str
    is_error: bool = False
    here: bool = True  # False: no instance this daemon runs answers to the call (a workers' parent asks the next)


class NotHere(ToolError):
    """The call names an instance this daemon does not run here, or a server none of its bots is in."""


def tool_listing() -> list[dict[str, Any]]:
    """Every tool as MCP lists it: name, description and input schema (with `instance` added)."""
    listing = [{
        "name": LIST_INSTANCES,
        "description": "Every bot instance of this daemon: its state, whether MCP is on, and its servers.",
        "inputSchema": {"type": "object", "properties": {}, "required": []},
    }]
    for tool in TOOLS.values():
        schema = tool.input_schema()
        schema["properties"] = {"instance": INSTANCE_PROPERTY, **schema["properties"]}
        listing.append({"name": tool.name, "description": tool.description, "inputSchema": schema})
    return listing


class McpRouter:
    def __init__(self, fleet: FleetView):
        self.fleet = fleet

    async def call(self, name: str, arguments: dict[str, Any] | None) -> Outcome:
        arguments = dict(arguments or {})
        instance = arguments.pop("instance", None)
        if name == LIST_INSTANCES:
            return Outcome(self.list_instances())
        tool = TOOLS.get(name)
        if tool is None:
            return self._done(instance, name, "unknown", Outcome(f"Unknown tool: {name}", True))
        try:
            runner = self._resolve(instance, arguments.get("guild_id"))
            instance = runner.spec.name
            bot = self._usable_bot(runner, name)
            guild = self._guild(bot, arguments)
            text = await asyncio.wait_for(tool.handler(Call(bot, guild, arguments)), TOOL_CALL_SECONDS)
        except NotHere as error:
            return self._done(instance, name, "not_here", Outcome(str(error), True, here=False))
        except ToolError as error:
            return self._done(instance, name, "refused", Outcome(str(error), True))
        except TimeoutError:
            return self._done(instance, name, "timeout", Outcome("Discord API request timed out", True))
        except Exception as error:  # a bug of ours: logged with its traceback, the client gets one line
            log.error("mcp_tool_failed", instance=instance, tool=name, error=repr(error), exc_info=error)
            return Outcome(f"The tool failed: {type(error).__name__}", True)
        return self._done(instance, name, "ok", Outcome(text))

    @staticmethod
    def _done(instance: str | None, tool: str, outcome: str, result: Outcome) -> Outcome:
        # Never the arguments: some carry secrets (webhook tokens) or private text.
        log.info("mcp_call", instance=instance, tool=tool, outcome=outcome)
        return result

    def list_instances(self) -> str:
        lines = []
        for name, runner in sorted(self.fleet.runners.items()):
            bot = runner.ctx.bot if runner.ctx else None
            guilds = ", ".join(str(g.id) for g in bot.guilds) if bot is not None and bot.is_ready() else ""
            mcp = "on" if runner.spec.config.features.get("mcp") else "off"
            lines.append(f"{name} | {runner.status.state} | mcp: {mcp} | guilds: {guilds or 'none'}")
        return "\n".join(lines) if lines else NO_INSTANCES

    def _names(self) -> str:
        return ", ".join(sorted(self.fleet.runners)) or "none"

    def _resolve(self, instance: Any, guild_id: Any) -> Any:
        if instance is not None:
            runner = self.fleet.runners.get(str(instance))
            if runner is None:
                raise NotHere(f"Instance not found: {instance}. Available instances: {self._names()}")
            if runner.status.state == State.ELSEWHERE:
                raise NotHere(f"Instance {instance} is not running (state: {runner.status.state})")
            return runner
        if guild_id is None:
            raise ToolError(f"No instance or guild_id specified. Available instances: {self._names()}")
        for runner in self.fleet.runners.values():
            bot = runner.ctx.bot if runner.ctx else None
            if bot is not None and bot.get_guild(_as_int(guild_id)) is not None:
                return runner
        raise NotHere(f"No running instance is in server {guild_id}. Available instances: {self._names()}")

    @staticmethod
    def _usable_bot(runner: Any, tool: str) -> Any:
        name = runner.spec.name
        config = runner.spec.config
        if not config.features.get("mcp"):
            raise ToolError(f"MCP is off for instance {name}: set `mcp = true` under [features] in its config.toml")
        allowed: Iterable[str] = config.settings.get("mcp", {}).get("tools", ())
        if tool not in allowed:
            raise ToolError(f"Tool {tool} is not allowed for instance {name}: add it to `tools` under [mcp] in its "
                            "config.toml")
        bot = runner.ctx.bot if runner.ctx else None
        if bot is None or not bot.is_ready():
            raise ToolError(f"Instance {name} is not running (state: {runner.status.state})")
        return bot

    @staticmethod
    def _guild(bot: Any, arguments: dict[str, Any]) -> Any:
        guild_id = arguments.get("guild_id")
        if guild_id is None:
            return bot.guilds[0] if len(bot.guilds) == 1 else None
        guild = bot.get_guild(_as_int(guild_id))
        if guild is None:
            raise ToolError(f"This bot is not in server {guild_id}")
        return guild


def _as_int(value: Any) -> int:
    text = str(value)
    if not text.isdigit():
        raise ToolError("guild_id must be a Discord ID (a string of digits)")
    return int(text)
