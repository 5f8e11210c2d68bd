"""The daemon's start wave (supervisor/daemon/runner.py `_connect` with the fleet's gate): bots log in a few at a
time, each gives its place back at its READY, and one that never gets there gives it back when its connection
ends, so it never holds up the others."""

from __future__ import annotations

import asyncio
import contextlib

import discord

from supervisor.daemon.runner import _connect
from supervisor.emulator import Emulator
from tests.support import BotRunner, World


async def test_bots_pass_the_start_gate_one_after_another_and_a_refused_one_lets_go(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    gate = asyncio.Semaphore(1)
    emu.add_application("second.token", "second")
    refused, first, second = bots.build(), bots.build(), bots.build()
    tasks = [asyncio.create_task(_connect(refused, "unknown.token", gate)),
             asyncio.create_task(_connect(first, world.token, gate)),
             asyncio.create_task(_connect(second, "second.token", gate))]
    try:
        with contextlib.suppress(discord.LoginFailure):
            await asyncio.wait_for(tasks[0], 30)  # an unknown token: login fails, and its place is given back
        await asyncio.wait_for(first.wait_until_ready(), 30)
        await asyncio.wait_for(second.wait_until_ready(), 30)
        assert first.user is not None and second.user is not None and second.user.name == "second"
        assert not gate.locked()  # both gave their place back at READY while still connected
        assert not tasks[1].done() and not tasks[2].done()
    finally:
        for bot in (refused, first, second):
            await bot.close()
        await asyncio.gather(*tasks, return_exceptions=True)
