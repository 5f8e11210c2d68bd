"""Game tools for AI chat (`lookup("games.tools")`): `wordle_start` and `connections_start`, mode today or random.

The board is posted in the channel as by the commands; the text returned is relayed to the member only when the
game could not start (one already running, the NYT failing), as the original's tools did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord
from supervisor.sdk import UserError

from . import dates
from .play import Starter

_MODE = {"mode": {"type": "string", "enum": ["today", "random"],
                  "description": "today's puzzle (the default) or one from a random day"}}

TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "wordle_start", "description": "Start a game of NYT Wordle in this channel.",
        "parameters": {"type": "object", "properties": _MODE, "required": []}}},
    {"type": "function", "function": {
        "name": "connections_start", "description": "Start a game of NYT Connections in this channel.",
        "parameters": {"type": "object", "properties": _MODE, "required": []}}},
]


class GameTools:
    tools = TOOLS

    def __init__(self, starter: Starter):
        self._starter = starter

    async def run(self, name: str, arguments: Mapping[str, Any], *, member: discord.abc.User,
                  channel: discord.abc.Messageable) -> str:
        channel_id = getattr(channel, "id", None)
        if getattr(member, "guild", None) is None or channel_id is None:
            return "Games work in a server only."
        random_day = str(arguments.get("mode", "today")).lower() == "random"
        try:
            if name == "wordle_start":
                date = dates.random_date(dates.WORDLE_FIRST) if random_day else dates.today()
                await self._starter.start_wordle(channel, channel_id, date)
            elif name == "connections_start":
                date = dates.random_date(dates.CONNECTIONS_FIRST) if random_day else dates.today()
                await self._starter.start_connections(channel, channel_id, date)
            else:
                return "Unknown game tool."
        except UserError as refusal:
            return str(refusal)
        return ""
