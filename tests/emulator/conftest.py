"""Fixtures: a started Emulator with discord.py pointed at it, a small guild, and real bots."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import discord
import pytest_asyncio
import yarl
from discord.ext import commands

from supervisor.emulator import Channel, Emulator, Guild, User

TOKEN = "bot-token-1"


@pytest_asyncio.fixture
async def emu() -> AsyncIterator[Emulator]:
    emulator = Emulator()
    await emulator.start()
    # Both settings are process-global in discord.py: restore them so nothing leaks between tests.
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = emulator.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)
    try:
        yield emulator
        assert emulator.internal_errors == []
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
        await emulator.stop()


@dataclass
class World:
    owner: User
    guild: Guild
    channel: Channel
    bot_user: User
    token: str


@pytest_asyncio.fixture
async def world(emu: Emulator) -> World:
    owner = emu.create_user("owner")
    guild = emu.create_guild("Test Guild", owner)
    channel = emu.create_channel(guild, "general")
    bot_user = emu.add_application(TOKEN, "TestBot")
    emu.add_bot_to_guild(guild, bot_user)
    return World(owner, guild, channel, bot_user, TOKEN)


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

    def task_of(self, bot: commands.Bot) -> asyncio.Task[None]:
        return next(task for b, task in self._running if b is bot)

    async def close_all(self) -> None:
        for bot, task in self._running:
            await bot.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5)


@pytest_asyncio.fixture
async def bots(emu: Emulator) -> AsyncIterator[BotRunner]:
    runner = BotRunner()
    try:
        yield runner
    finally:
        await runner.close_all()


def add_ping(bot: commands.Bot) -> None:
    @bot.command()
    async def ping(ctx: commands.Context) -> None:
        await ctx.send("pong")
