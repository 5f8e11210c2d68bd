"""Why a bot's connection to Discord ended: worth waiting for (the network, Discord's outage), or permanent
(nothing changes until a person acts: the reason says what to do)."""

from __future__ import annotations

import asyncio

import aiohttp
import discord

# Gateway close codes no retry can fix (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
PERMANENT_CLOSE_CODES: dict[int, str] = {
    4004: "Discord's gateway refused the token (close 4004): put the bot's current token in DISCORD_TOKEN in .env",
    4010: "Discord rejected the shard settings (close 4010): report this as a discord-supervisor bug",
    4011: "Discord requires sharding for this bot (close 4011: it is in too many servers for one connection), "
          "which discord-supervisor does not do yet: remove it from servers or run it elsewhere",
    4012: "Discord rejected the gateway API version (close 4012): update discord-supervisor",
    4013: "Discord rejected the gateway intents (close 4013): report this as a discord-supervisor bug",
    4014: "Discord refused the privileged intents this bot's features need (close 4014): enable them for the "
          "application in the developer portal, or turn those features off",
}
LOGIN_REFUSED = "Discord refused the token (401): put the bot's current token in DISCORD_TOKEN in .env"

_UNREACHABLE = (OSError, aiohttp.ClientError, asyncio.TimeoutError, discord.GatewayNotFound)


def permanent_reason(error: BaseException) -> str | None:
    """The reason to fail at once, or None when the error is not one of the permanent kinds."""
    if isinstance(error, discord.LoginFailure):
        return LOGIN_REFUSED
    if isinstance(error, discord.PrivilegedIntentsRequired):
        return PERMANENT_CLOSE_CODES[4014]
    if isinstance(error, discord.ConnectionClosed):
        return PERMANENT_CLOSE_CODES.get(error.code or 0)
    return None


def unreachable_reason(error: BaseException) -> str | None:
    """A one-line reason when Discord could not be reached or is having an outage; None otherwise."""
    if isinstance(error, discord.DiscordServerError) or (
            isinstance(error, discord.HTTPException) and error.status in (408, 429)):
        return f"Discord answered {error.status}"
    if isinstance(error, discord.ConnectionClosed):
        return f"the gateway closed the connection ({error.code})"
    if isinstance(error, TimeoutError | asyncio.TimeoutError):
        return "no answer in time"
    if isinstance(error, aiohttp.ClientConnectorError):
        cause = error.os_error
        return f"cannot connect to {error.host}:{error.port}: {cause.strerror or cause}"
    if isinstance(error, _UNREACHABLE):
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return None
