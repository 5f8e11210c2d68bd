"""Core commands in-process (the FeatureHarness): what a member sees when typing them."""

from __future__ import annotations

from tests.support import FeatureHarness


async def test_command_root_nests_every_command(harness_factory) -> None:
    """`command_root = "m"` gives `!m ping` like discord-bot-rs; the flat `!ping` is not this bot's."""
    h: FeatureHarness = await harness_factory(name="rooted", config_extra='command_root = "m"\n')
    emu = h.emu
    await h.send(h.owner, "!ping")
    await h.send(h.owner, "!m ping")
    reply = await emu.wait_for_bot_message(channel=h.channel)
    assert "Pong" in reply.content
    await h.send(h.owner, "!m help")
    help_reply = await emu.wait_for_bot_message(channel=h.channel)
    assert "`!m ping`" in str(help_reply.embeds[0]["fields"]) and "`!ping`" not in str(help_reply.embeds)
    assert len([m for m in emu.bot_messages if m.channel_id == h.channel.id]) == 2  # `!ping` got nothing
