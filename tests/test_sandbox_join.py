"""The sandbox's /join: a member joins the current guild, so join role and welcome can be seen."""

from __future__ import annotations

import io
from types import SimpleNamespace

from supervisor.emulator import Emulator
from supervisor.sandbox.chat import Chat
from supervisor.sandbox.world import SandboxWorld


async def test_join_adds_a_member_to_the_current_guild_once(emu: Emulator) -> None:
    world = SandboxWorld(emu)
    world.ensure(SimpleNamespace(name="demo", env=SimpleNamespace(token="demo-token"),
                                 config=SimpleNamespace(bot_name="Demo Bot")))  # type: ignore[arg-type]
    out = io.StringIO()
    chat = Chat(emu, world, lambda: [], out)
    chat.instance = "demo"
    guild = world.guilds["demo"].guild

    assert await chat.handle("/join zoe")
    zoe = world.guilds["demo"].members["zoe"]
    assert emu.member(guild, zoe) is not None
    assert await chat.handle("/join zoe")
    emu.remove_member(guild, zoe)
    assert await chat.handle("/join zoe")  # a rejoin
    assert emu.member(guild, zoe) is not None
    assert await chat.handle("/join")
    assert out.getvalue().splitlines() == [
        "zoe joined demo sandbox.", "zoe is already a member here.", "zoe joined demo sandbox.",
        "Usage: /join NAME (one word)",
    ]
