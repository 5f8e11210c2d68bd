"""The tool catalogue: each tool's name, description, arguments (JSON schema) and handler.

Handlers get a `Call`: the instance's bot, the resolved guild and argument readers that turn bad input into a
`ToolError` with a plain sentence. Every Discord request goes through `Call.api`, which bounds it to 10 s and
lets discord.py's own rate limiter retry a 429 instead of surfacing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import discord
from discord.http import Route

DISCORD_CALL_SECONDS = 10.0
DISCORD_EPOCH_MS = 1420070400000


class ToolError(Exception):
    """The tool's answer is this sentence, marked as an error."""


Handler = Callable[["Call"], Awaitable[str]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    properties: dict[str, dict[str, Any]]
    required: tuple[str, ...]
    handler: Handler
    guild_scoped: bool = True  # takes the optional guild_id

    def input_schema(self) -> dict[str, Any]:
        properties = dict(self.properties)
        if self.guild_scoped:
            properties["guild_id"] = {"type": "string", "description": "server ID; default: the bot's only server"}
        return {"type": "object", "properties": properties, "required": list(self.required)}


TOOLS: dict[str, Tool] = {}  # filled once at import by the family modules; never changed after


def tool(tool_name: str, description: str, /, *, required: tuple[str, ...] = (), guild_scoped: bool = True,
         **properties: dict[str, Any]) -> Callable[[Handler], Handler]:
    """Register a tool; keyword arguments beyond these are its own arguments' JSON schemas."""
    def register(handler: Handler) -> Handler:
        assert tool_name not in TOOLS, tool_name
        TOOLS[tool_name] = Tool(tool_name, description, properties, required, handler, guild_scoped)
        return handler
    return register


# JSON-schema shorthands for the declarations.
def string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


def integer(description: str) -> dict[str, Any]:
    return {"type": "integer", "description": description}


def boolean(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


@dataclass
class Call:
    bot: discord.Client
    guild: discord.Guild | None
    args: dict[str, Any]
    reason_header: str | None = field(default=None)

    # -- Discord ---------------------------------------------------------------------------------
    async def api(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                  reason: str | None = None, **route: Any) -> Any:
        try:
            return await asyncio.wait_for(
                self.bot.http.request(Route(method, path, **route), json=json, params=params, reason=reason),
                DISCORD_CALL_SECONDS,
            )
        except TimeoutError as error:
            raise ToolError("Discord API request timed out") from error
        except discord.HTTPException as error:
            raise ToolError(f"Discord API error: {error.status} {error.text or error.response.reason}") from error

    # -- arguments -------------------------------------------------------------------------------
    def text(self, key: str, *, required: bool = True, max_length: int | None = None, min_length: int = 0,
             default: str | None = None) -> str | None:
        value = self.args.get(key, default)
        if value is None:
            if required:
                raise ToolError(f"{key} is required")
            return None
        if not isinstance(value, str):
            raise ToolError(f"{key} must be a string")
        if len(value) < min_length or (max_length is not None and len(value) > max_length):
            limit = f"{min_length}–{max_length}" if max_length is not None else f"at least {min_length}"
            raise ToolError(f"{key} must be {limit} characters")
        return value

    def number(self, key: str, *, default: int | None = None, low: int, high: int) -> int:
        value = self.args.get(key, default)
        if value is None:
            raise ToolError(f"{key} is required")
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise ToolError(f"{key} must be a whole number from {low} to {high}")
        return value

    def flag(self, key: str) -> bool | None:
        value = self.args.get(key)
        if value is not None and not isinstance(value, bool):
            raise ToolError(f"{key} must be true or false")
        return value

    def snowflake(self, key: str, *, required: bool = True) -> int | None:
        value = self.args.get(key)
        if value is None or value == "":
            if required:
                raise ToolError(f"{key} is required")
            return None
        text = str(value)
        if not text.isdigit() or not 15 <= len(text) <= 21:
            raise ToolError(f"{key} must be a Discord ID (a string of digits)")
        return int(text)

    def bits(self, key: str) -> int:
        value = str(self.args.get(key, "0") or "0")
        if not value.isdigit():
            raise ToolError(f"{key} must be permission bits as a decimal string")
        return int(value)

    def moment(self, key: str) -> int | None:
        """An ISO date, an RFC 3339 time or a snowflake -> a snowflake bound for `after`/`before`."""
        import datetime as dt

        value = self.args.get(key)
        if value in (None, ""):
            return None
        text = str(value)
        if text.isdigit():
            return int(text)
        try:
            moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as error:
            raise ToolError(f"{key} must be an ISO date, an RFC 3339 time or a message ID") from error
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return (int(moment.timestamp() * 1000) - DISCORD_EPOCH_MS) << 22

    # -- the guild's things ----------------------------------------------------------------------
    def require_guild(self) -> discord.Guild:
        if self.guild is None:
            raise ToolError("guild_id is required: this bot is in more than one server (or none)")
        return self.guild

    async def channel(self, key: str = "channel_id") -> dict[str, Any]:
        """The channel, verified to belong to the resolved guild."""
        guild = self.require_guild()
        channel_id = self.snowflake(key)
        channel = await self.api("GET", "/channels/{channel_id}", channel_id=channel_id)
        if str(channel.get("guild_id")) != str(guild.id):
            raise ToolError(f"channel {channel_id} is not in server {guild.id}")
        return channel
