"""Fixtures: a started Emulator with discord.py pointed at it, a small guild, and real bots."""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest_asyncio
import yarl

from supervisor.emulator import Emulator
from supervisor.runtime.tls import trust_extra_ca
from tests.support import BotRunner, World

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
    trust_extra_ca(emulator.voice.ca_file)  # bots built from now on reach its wss voice server
    try:
        yield emulator
        assert emulator.internal_errors == []
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
        trust_extra_ca(None)
        await emulator.stop()


@pytest_asyncio.fixture
async def world(emu: Emulator) -> World:
    owner = emu.create_user("owner")
    guild = emu.create_guild("Test Guild", owner)
    channel = emu.create_channel(guild, "general")
    bot_user = emu.add_application(TOKEN, "TestBot")
    emu.add_bot_to_guild(guild, bot_user)
    return World(owner, guild, channel, bot_user, TOKEN)


@pytest_asyncio.fixture
async def bots(emu: Emulator) -> AsyncIterator[BotRunner]:
    runner = BotRunner()
    try:
        yield runner
    finally:
        await runner.close_all()
