"""Plain discord.py bots against the emulator (the emulator's own tests): a small world and a bot runner."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import discord
from discord.ext import commands

from supervisor.emulator import Channel, Guild, User
from supervisor.runtime.tls import bot_connector


@dataclass
class World:
    owner: User
    guild: Guild
    channel: Channel
    bot_user: User
    token: str


def full_intents() -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = True
    intents.members = True
    return intents


class BotRunner:
    """Starts real commands.Bot objects against the emulator and always closes them."""

    def __init__(self) -> None:
        self._running: list[tuple[commands.Bot, asyncio.Task[None]]] = []

    def build(self, intents: discord.Intents | None = None) -> commands.Bot:
        return commands.Bot(
            command_prefix="!",
            intents=intents or full_intents(),
            guild_ready_timeout=0.1,
            max_messages=100,
            help_command=None,
            connector=bot_connector(),  # trusts the emulator's CA (wss voice) when the test set one
        )

    async def start(
        self,
        token: str,
        *,
        intents: discord.Intents | None = None,
        setup: Callable[[commands.Bot], None] | None = None,
        bot: commands.Bot | None = None,
    ) -> commands.Bot:
        bot = bot or self.build(intents)
        if setup is not None:
            setup(bot)
        task = asyncio.create_task(bot.start(token))
        self._running.append((bot, task))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise why the bot stopped
            raise TimeoutError("bot did not become ready")
        return bot

    async def close_all(self) -> None:
        for bot, task in self._running:
            await bot.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


def add_ping(bot: commands.Bot) -> None:
    @bot.command()
    async def ping(ctx: commands.Context) -> None:
        await ctx.send("pong")
