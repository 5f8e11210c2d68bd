"""The MCP voice tools end to end: the SDK's MCP client over streamable HTTP against the fleet endpoint, members
in voice in the emulator, and both the emulator's voice states and the bot's own cache (VOICE_STATE_UPDATE) as
the proof of each move, disconnect, mute and deafen."""

from __future__ import annotations

from typing import Any

from supervisor.emulator import P
from supervisor.emulator.models import GUILD_VOICE
from tests.support import FeatureHarness
from tests.support.mcp_world import McpWorld, text_of
from tests.support.waiting import eventually


async def call(world: McpWorld, tool: str, **arguments: Any) -> tuple[str, bool]:
    """One tool call through the real HTTP endpoint, as an MCP client would make it."""
    async with world.client() as client:
        result = await client.call_tool(tool, arguments)
    return text_of(result), bool(result.is_error)


def bot_sees_in(h: FeatureHarness, user: Any, channel_id: int | None) -> bool:
    """The bot's discord.py cache has `user` in `channel_id` (None: out of voice): it got VOICE_STATE_UPDATE."""
    guild = h.bot.get_guild(h.guild.id)
    member = guild.get_member(user.id) if guild else None
    if member is None:
        return False
    voice = member.voice
    return (voice.channel.id if voice and voice.channel else None) == channel_id


async def test_move_and_disconnect_a_member_in_voice(world: McpWorld) -> None:
    a = world.a
    lounge = a.emu.create_channel(a.guild, "Lounge", GUILD_VOICE)
    quiet = a.emu.create_channel(a.guild, "Quiet", GUILD_VOICE)
    hana = a.add_member("hana")
    a.emu.voice.join(a.guild, hana, lounge)
    await eventually(lambda: bot_sees_in(a, hana, lounge.id))

    text, error = await call(world, "move_voice_member", instance=a.name, user_id=str(hana.id),
                             channel_id=str(quiet.id))
    assert not error and f"Moved {hana.id} to #Quiet" in text, text
    state = a.emu.voice.voice_state(a.guild, hana)
    assert state is not None and state.channel_id == quiet.id
    await eventually(lambda: bot_sees_in(a, hana, quiet.id))

    text, error = await call(world, "disconnect_voice_member", instance=a.name, user_id=str(hana.id))
    assert not error and f"Disconnected {hana.id}" in text, text
    assert a.emu.voice.voice_state(a.guild, hana) is None
    await eventually(lambda: bot_sees_in(a, hana, None))


async def test_server_mute_and_deafen(world: McpWorld) -> None:
    a = world.a
    lounge = a.emu.create_channel(a.guild, "Lounge", GUILD_VOICE)
    ivan = a.add_member("ivan")
    a.emu.voice.join(a.guild, ivan, lounge)
    await eventually(lambda: bot_sees_in(a, ivan, lounge.id))

    text, error = await call(world, "modify_voice_state", instance=a.name, user_id=str(ivan.id), mute=True,
                             deafen=True)
    assert not error and "mute=True" in text and "deaf=True" in text, text
    member = a.emu.member(a.guild, ivan)
    assert member is not None and member.mute and member.deaf

    def bot_sees(mute: bool, deaf: bool) -> bool:
        guild = a.bot.get_guild(a.guild.id)
        voice = guild.get_member(ivan.id).voice if guild and guild.get_member(ivan.id) else None
        return voice is not None and voice.mute == mute and voice.deaf == deaf

    await eventually(lambda: bot_sees(True, True))
    _, error = await call(world, "modify_voice_state", instance=a.name, user_id=str(ivan.id), mute=False)
    assert not error and not member.mute and member.deaf
    await eventually(lambda: bot_sees(False, True))
    text, error = await call(world, "modify_voice_state", instance=a.name, user_id=str(ivan.id))
    assert error and "give mute and/or deafen" in text


async def test_a_member_not_in_voice_gets_a_clear_refusal(world: McpWorld) -> None:
    a = world.a
    lounge = a.emu.create_channel(a.guild, "Lounge", GUILD_VOICE)
    jo = a.add_member("jo")
    for tool, extra in (("move_voice_member", {"channel_id": str(lounge.id)}), ("disconnect_voice_member", {}),
                        ("modify_voice_state", {"mute": True})):
        text, error = await call(world, tool, instance=a.name, user_id=str(jo.id), **extra)
        assert error and f"user {jo.id} is not in a voice channel" in text, (tool, text)
    member = a.emu.member(a.guild, jo)
    assert member is not None and not member.mute
    assert a.emu.voice.voice_state(a.guild, jo) is None


async def test_moving_to_a_text_channel_is_refused_before_discord(world: McpWorld) -> None:
    a = world.a
    lounge = a.emu.create_channel(a.guild, "Lounge", GUILD_VOICE)
    kim = a.add_member("kim")
    a.emu.voice.join(a.guild, kim, lounge)
    patches = a.emu.count_requests("PATCH", "/guilds/{guild_id}/members/{user_id}")
    text, error = await call(world, "move_voice_member", instance=a.name, user_id=str(kim.id),
                             channel_id=str(a.channel.id))
    assert error and f"channel {a.channel.id} (#general) is a text channel, not a voice channel" in text, text
    assert a.emu.count_requests("PATCH", "/guilds/{guild_id}/members/{user_id}") == patches
    state = a.emu.voice.voice_state(a.guild, kim)
    assert state is not None and state.channel_id == lounge.id


async def test_without_the_permission_the_tool_names_it(world: McpWorld) -> None:
    a = world.a
    lounge = a.emu.create_channel(a.guild, "Lounge", GUILD_VOICE)
    quiet = a.emu.create_channel(a.guild, "Quiet", GUILD_VOICE)
    lee = a.add_member("lee")
    a.emu.voice.join(a.guild, lee, lounge)
    weak = a.emu.create_role(a.guild, "weak", int(P.VIEW_CHANNEL | P.SEND_MESSAGES | P.CONNECT), position=5)
    a.emu.set_member_roles(a.guild, a.bot_user, [weak])
    text, error = await call(world, "move_voice_member", instance=a.name, user_id=str(lee.id),
                             channel_id=str(quiet.id))
    assert error and "Move Members" in text, text
    text, error = await call(world, "modify_voice_state", instance=a.name, user_id=str(lee.id), deafen=True)
    assert error and "Deafen Members" in text, text
    state = a.emu.voice.voice_state(a.guild, lee)
    assert state is not None and state.channel_id == lounge.id
    member = a.emu.member(a.guild, lee)
    assert member is not None and not member.deaf


async def test_create_and_edit_a_voice_channel(world: McpWorld) -> None:
    a = world.a
    text, error = await call(world, "create_voice_channel", instance=a.name, name="Jam Room", bitrate=32000,
                             user_limit=5)
    assert not error, text
    channel_id = int(text.rsplit("ID: ", 1)[1].rstrip(")"))
    channel = a.emu.state.channel(channel_id)
    assert channel.type == GUILD_VOICE and channel.name == "Jam Room"
    assert (channel.bitrate, channel.user_limit) == (32000, 5)
    text, error = await call(world, "edit_voice_channel", instance=a.name, channel_id=str(channel_id),
                             bitrate=96000, user_limit=0, name="Jam")
    assert not error, text
    assert (channel.name, channel.bitrate, channel.user_limit) == ("Jam", 96000, 0)
    await eventually(lambda: (lambda c: c is not None and (c.bitrate, c.user_limit) == (96000, 0))(
        a.bot.get_channel(channel_id)))
    # a server without boosts tops out at 96 kbps: Discord's refusal comes back as the tool's error
    text, error = await call(world, "edit_voice_channel", instance=a.name, channel_id=str(channel_id),
                             bitrate=128000)
    assert error and "bitrate" in text and channel.bitrate == 96000, text
    text, error = await call(world, "edit_voice_channel", instance=a.name, channel_id=str(a.channel.id),
                             bitrate=64000)
    assert error and "is a text channel, not a voice channel" in text, text
