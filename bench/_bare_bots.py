"""N bare discord.py bots in one process (the baseline for the supervisor's own cost): each answers `!ping`.

Usage (the benches start it): python bench/_bare_bots.py API_BASE GATEWAY_URL TOKENS_FILE
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import discord
from discord.ext import commands

from supervisor.runtime.endpoints import apply_endpoints


def bare_bot() -> commands.Bot:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = True
    bot = commands.Bot(command_prefix="!", intents=intents, help_command=None, chunk_guilds_at_startup=False)

    @bot.command(name="ping")
    async def ping(context: commands.Context) -> None:
        await context.reply(f"Pong! Gateway latency: {bot.latency * 1000:.0f} ms.", mention_author=False)

    return bot


async def main(tokens: list[str]) -> None:
    bots = [bare_bot() for _ in tokens]
    tasks = [asyncio.create_task(bot.start(token)) for bot, token in zip(bots, tokens, strict=True)]
    while not all(bot.is_ready() for bot in bots):
        await asyncio.sleep(0.1)
    print("ready", flush=True)
    await asyncio.gather(*tasks)


if __name__ == "__main__":
    apply_endpoints(sys.argv[1], sys.argv[2])
    asyncio.run(main(Path(sys.argv[3]).read_text().split()))
