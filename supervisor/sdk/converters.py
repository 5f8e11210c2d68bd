"""discord.py argument converters features share."""

from __future__ import annotations

from discord.ext import commands

from supervisor.text import parse_duration


class Duration(commands.Converter[int]):
    """`30s 5m 2h 3d 1w` -> seconds; anything else is a clear BadArgument."""

    async def convert(self, ctx: commands.Context, argument: str) -> int:
        seconds = parse_duration(argument)
        if seconds is None or seconds <= 0:
            raise commands.BadArgument("Invalid duration. Use: `30s`, `5m`, `2h`, `3d`, `1w`")
        return seconds
