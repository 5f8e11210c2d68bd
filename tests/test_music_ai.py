"""AI chat's music tools: the model asks, the music feature acts with the commands' checks, texts and embeds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from supervisor.emulator.models import GUILD_VOICE
from tests.support import Answer, FeatureHarness, StandIn, message_text, text
from tests.support.audio_server import AudioServer

MUSIC_TOOLS = {"play_song", "skip", "stop", "pause", "resume", "show_queue", "now_playing", "shuffle", "set_loop",
               "remove_from_queue"}


@pytest_asyncio.fixture
async def model() -> AsyncIterator[StandIn]:
    server = await StandIn().start()
    yield server
    await server.stop()


async def start(harness_factory: Any, model: StandIn) -> FeatureHarness:
    config = (f'command_root = ""\n[ai.providers.local]\nurl = "{model.url}"\nmodel = "m"\napi_key_env = "LOCAL_KEY"\n'
              'max_tokens = 4096\n[ai.routing]\nchat = "local"\n')
    return await harness_factory(config_extra=config, env={"LOCAL_KEY": "sk-test"})


def calls(name: str, **arguments: Any) -> Any:
    """The model calls `name` when tools are offered, and says a short line otherwise (the quip)."""
    return lambda r: Answer("On it!", [(name, arguments)]) if r.body.get("tools") else text("On it!")


async def test_play_song_tool_plays_in_the_members_channel(harness_factory: Any, model: StandIn,
                                                           audio_server: AudioServer) -> None:
    h = await start(harness_factory, model)
    lounge = h.emu.create_channel(h.guild, "Lounge", GUILD_VOICE)
    alice = h.add_member("alice")
    bob = h.add_member("bob")
    h.emu.voice.join(h.guild, alice, lounge)
    model.reply = calls("play_song", query=audio_server.tone(440, 3))
    sent = await h.send(alice, f"<@{h.bot_user.id}> play my tone")
    playing = await h.emu.wait_for_bot_message(lambda m: bool(m.embeds) and m.embeds[0].get("title") == "Now Playing",
                                               bot=h.bot_user, timeout=30)
    assert "tone-440-3" in playing.embeds[0]["description"] and playing.components
    offered = {t["function"]["name"] for t in model.answered()[0].body["tools"]}
    assert offered >= MUSIC_TOOLS
    assert "## Music\nYou can play music" in model.answered()[0].system
    recording = h.emu.voice.recording(h.guild, h.bot_user)
    await recording.wait_for(lambda r: r.audio_count >= 50, timeout=15)
    assert message_text(await h.reply_to(sent, timeout=30)) == "On it!"

    model.reply = calls("show_queue")
    queue = await h.reply_to(await h.send(alice, f"<@{h.bot_user.id}> what's queued?"), timeout=30)
    await h.emu.wait_for_bot_message(lambda m: m.reference_id == queue.reference_id and bool(m.embeds)
                                     and m.embeds[0].get("title") == "Music Queue", bot=h.bot_user, timeout=30)

    model.reply = calls("play_song", query="anything")  # bob is not in voice
    refusal = await h.send(bob, f"<@{h.bot_user.id}> play something")
    await h.emu.wait_for_bot_message(lambda m: m.reference_id == refusal.id
                                     and m.content == "You need to be in a voice channel for me to play music.",
                                     bot=h.bot_user, timeout=30)


async def test_music_tools_obey_dj_mode(harness_factory: Any, model: StandIn) -> None:
    h = await start(harness_factory, model)
    dj = h.emu.create_role(h.guild, "dj", 0, position=1)
    carol = h.add_member("carol")
    assert await h.say(h.owner, f"!djrole <@&{dj.id}>") == "DJ role set to **dj**."
    assert (await h.say(h.owner, "!djmode")).startswith("DJ mode **enabled**.")
    model.reply = calls("skip")
    sent = await h.send(carol, f"<@{h.bot_user.id}> skip this")
    await h.emu.wait_for_bot_message(
        lambda m: m.reference_id == sent.id
        and m.content == "DJ mode is enabled. You need the DJ role to use music commands.", bot=h.bot_user, timeout=30)
    model.reply = calls("now_playing")  # not gated, as the command
    sent = await h.send(carol, f"<@{h.bot_user.id}> what's on?")
    await h.emu.wait_for_bot_message(
        lambda m: m.reference_id == sent.id and m.content == "Nothing is playing right now.", bot=h.bot_user,
        timeout=30)
