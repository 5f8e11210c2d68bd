"""Music end to end: a member in voice asks, the bot joins, the emulator decrypts the Opus it sends.

Tracks are WAV tones served by a local aiohttp stand-in; rates come from the emulator's arrival times.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from supervisor.emulator.errors import APIError
from supervisor.emulator.models import GUILD_VOICE
from tests.support.audio_server import AudioServer, ManualClock
from tests.support.harness import FeatureHarness

RATE_LOW, RATE_HIGH = 47.5, 52.5  # 50 packets a second, +-5 %
CONFIG = 'command_root = ""\n'
NOT_FOUND = "Couldn't find that song. Try a different search."


async def ask(h: FeatureHarness, member: Any, text: str) -> Any:
    """The bot's reply to a command that resolves a song and may join voice: generous under load."""
    return await h.reply_to(await h.send(member, text), timeout=30)


async def in_voice(harness_factory: Any, config: str = CONFIG) -> tuple[FeatureHarness, Any, Any]:
    h = await harness_factory(config_extra=config)
    lounge = h.emu.create_channel(h.guild, "Lounge", GUILD_VOICE)
    alice = h.add_member("alice")
    h.emu.voice.join(h.guild, alice, lounge)
    await asyncio.sleep(0)
    return h, alice, lounge


async def test_play_joins_and_streams_the_track_at_fifty_packets_a_second(
        harness_factory: Any, audio_server: AudioServer) -> None:
    h, alice, lounge = await in_voice(harness_factory)
    reply = await ask(h, alice, f"!play {audio_server.tone(440, 2)}")
    assert reply.embeds[0]["title"] == "Now Playing"
    assert "tone-440-2" in reply.embeds[0]["description"]
    assert [f["value"] for f in reply.embeds[0]["fields"]] == ["0:02", "alice"]
    assert len(reply.components[0]["components"]) == 5 and len(reply.components[1]["components"]) == 1
    link = await h.emu.voice.wait_connected(h.guild, h.bot_user)
    assert link is not None and h.emu.voice.voice_state(h.guild, h.bot_user).channel_id == lounge.id
    recording = h.emu.voice.recording(h.guild, h.bot_user)
    await recording.wait_for(lambda r: r.audio_count >= 100, timeout=15)
    assert 100 <= recording.audio_count <= 102  # 2 s of 20 ms frames (+ the encoder's last partial frame)
    assert RATE_LOW <= recording.rate() <= RATE_HIGH
    assert recording.rejected == 0


async def test_pause_resume_skip_stop(harness_factory: Any, audio_server: AudioServer) -> None:
    h, alice, _lounge = await in_voice(harness_factory)
    first = await ask(h, alice, f"!play {audio_server.tone(440, 20)}")
    recording = h.emu.voice.recording(h.guild, h.bot_user)
    await recording.wait_for(lambda r: r.audio_count >= 10, timeout=15)
    queued = await ask(h, alice, f"!play {audio_server.tone(660, 20)}")
    assert queued.embeds[0]["title"] == "Added to Queue"
    assert queued.embeds[0]["fields"][1] == {"name": "Position", "value": "#1", "inline": True}

    assert await h.say(alice, "!pause") == "Paused."
    paused_at = recording.audio_count
    assert (await h.say(alice, "!queue")).startswith("Music Queue")  # a round trip while paused
    await asyncio.sleep(0.3)
    assert recording.audio_count - paused_at <= 3  # frames already in flight only
    assert await h.say(alice, "!resume") == "Resumed."
    await recording.wait_for(lambda r: r.audio_count >= paused_at + 20, timeout=10)

    before_skip = len(recording.audio_payloads)
    assert await h.say(alice, "!skip") == "Skipped **tone-440-20**."
    now = await h.emu.wait_for_bot_message(lambda m: bool(m.embeds) and m.embeds[0].get("title") == "Now Playing"
                                           and m.id != first.id, bot=h.bot_user, timeout=10)
    assert "tone-660-20" in now.embeds[0]["description"]
    await recording.wait_for(lambda r: r.audio_count >= before_skip + 20, timeout=10)
    with pytest.raises(APIError):  # the old Now Playing is gone, not orphaned with live controls
        h.emu.current_message(first)

    assert await h.say(alice, "!stop") == "Stopped playback, cleared queue, and left voice."
    await h.emu.voice.wait_left(h.guild, h.bot_user)
    assert await h.say(alice, "!queue") == "Music Queue\nNothing is playing right now."


async def test_loop_track_replays(harness_factory: Any, audio_server: AudioServer) -> None:
    h, alice, _lounge = await in_voice(harness_factory)
    assert await h.say(alice, "!loop track") == "Looping **current track**."
    await ask(h, alice, f"!play {audio_server.tone(440, 1)}")
    recording = h.emu.voice.recording(h.guild, h.bot_user)
    await recording.wait_for(lambda r: r.audio_count >= 120, timeout=15)  # more than the 1 s track holds
    assert audio_server.hits.count("/tone-440-1.wav") >= 2
    assert h.emu.voice.connected(h.guild, h.bot_user)


async def test_bot_leaves_when_the_last_human_leaves(harness_factory: Any, audio_server: AudioServer) -> None:
    h, alice, _lounge = await in_voice(harness_factory)
    await ask(h, alice, f"!play {audio_server.tone(440, 20)}")
    await h.emu.voice.wait_connected(h.guild, h.bot_user)
    h.emu.voice.leave(h.guild, alice)
    await h.emu.voice.wait_left(h.guild, h.bot_user)


async def test_idle_leave_after_the_queue_ends_moves_the_clock(harness_factory: Any,
                                                               audio_server: AudioServer) -> None:
    h, alice, _lounge = await in_voice(harness_factory)
    clock = ManualClock()
    h.ctx.services["clock"] = clock  # the music feature's idle timer looks it up when it starts
    await ask(h, alice, f"!play {audio_server.tone(440, 0.5)}")
    await h.emu.voice.wait_connected(h.guild, h.bot_user)
    await h.wait_log(lambda e: e.get("event") == "music_track_started")
    deadline = asyncio.get_running_loop().time() + 15
    while clock.sleepers == 0:  # the track ended and the idle timer sleeps on our clock
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.05)
    clock.advance(299)
    assert (await h.say(alice, "!ping")).startswith("Pong")
    assert h.emu.voice.connected(h.guild, h.bot_user)
    clock.advance(1)
    await h.emu.voice.wait_left(h.guild, h.bot_user)


async def test_unplayable_songs_say_not_found_and_other_bots_answer(harness_factory: Any,
                                                                    audio_server: AudioServer) -> None:
    h, alice, _lounge = await in_voice(harness_factory, CONFIG + "[music]\nresolve_timeout = 2\n")
    other = await harness_factory(config_extra=CONFIG)
    slow = await h.send(alice, f"!play {audio_server.url('slow.wav')}")
    assert (await other.say(other.owner, "!ping")).startswith("Pong")  # while the resolve hangs
    assert (await h.reply_to(slow, timeout=15)).content == NOT_FOUND
    assert (await ask(h, alice, f"!play {audio_server.url('page.html')}")).content == NOT_FOUND
    assert (await ask(h, alice, f"!play {audio_server.url('missing.mp3')}")).content == NOT_FOUND
    assert not h.emu.voice.connected(h.guild, h.bot_user)


async def test_dj_mode_refuses_a_button_ephemerally(harness_factory: Any, audio_server: AudioServer) -> None:
    h, alice, lounge = await in_voice(harness_factory)
    dj = h.emu.create_role(h.guild, "dj", 0, position=1)
    bob = h.add_member("bob")
    h.emu.voice.join(h.guild, bob, lounge)
    assert await h.say(h.owner, f"!djrole <@&{dj.id}>") == "DJ role set to **dj**."
    playing = await ask(h, alice, f"!play {audio_server.tone(440, 20)}")  # before DJ mode
    assert (await h.say(h.owner, "!djmode")).startswith("DJ mode **enabled**.")
    pressed = await h.press(playing, bob, "music_skip")
    assert [m.content for m in pressed.ephemeral_replies] == [
        "DJ mode is enabled. You need the DJ role to use music controls."]
    assert not pressed.public_replies
    assert await h.say(bob, "!skip") == "DJ mode is enabled. You need the DJ role to use music commands."
    queue = await h.press(playing, bob, "music_queue")  # the queue button is not gated
    assert queue.ephemeral_replies[0].embeds[0]["title"] == "Music Queue"
    outsider = h.add_member("outsider")
    pressed = await h.press(playing, outsider, "music_pauseresume")
    assert [m.content for m in pressed.ephemeral_replies] == [
        "You need to be in my voice channel to use the music controls."]
    pressed = await h.press(playing, h.owner, "music_pauseresume")  # the owner is not in voice either
    assert pressed.ephemeral_replies


async def test_two_bots_in_two_guilds_hear_only_their_own(harness_factory: Any, audio_server: AudioServer) -> None:
    a, alice, _ = await in_voice(harness_factory)
    b, bob, _ = await in_voice(harness_factory)
    await ask(a, alice, f"!play {audio_server.tone(440, 1)}")
    await ask(b, bob, f"!play {audio_server.tone(880, 2)}")
    rec_a = a.emu.voice.recording(a.guild, a.bot_user)
    rec_b = b.emu.voice.recording(b.guild, b.bot_user)
    await rec_b.wait_for(lambda r: r.audio_count >= 100, timeout=20)
    await rec_a.wait_for(lambda r: r.audio_count >= 50, timeout=20)
    assert 50 <= rec_a.audio_count <= 52 and 100 <= rec_b.audio_count <= 102
    assert not set(rec_a.audio_payloads) & set(rec_b.audio_payloads)
    assert a.emu.voice.recording(a.guild, b.bot_user).audio_count == 0
    assert a.emu.voice.recording(b.guild, a.bot_user).audio_count == 0


async def test_playlist_queue_view_and_the_hundred_song_limit(harness_factory: Any,
                                                              audio_server: AudioServer) -> None:
    h, alice, _lounge = await in_voice(harness_factory)
    queued = await ask(h, alice, f"!playlist {audio_server.feed(105)}")  # a feed of 105: capped at 100
    embed = queued.embeds[0]
    assert (embed["title"], embed["description"]) == ("Playlist Queued", "Added **100** tracks to the queue.")
    assert embed["fields"] == [{"name": "Now Playing", "value": "Tone 1", "inline": False}]
    assert queued.components  # the playlist's first song plays: the message carries the controls
    view = (await h.say_message(alice, "!queue")).embeds[0]
    assert view["description"].startswith("**Now Playing:** [Tone 1](")
    (up_next,) = view["fields"]
    assert up_next["name"] == "Up Next (99 songs) — Total: 50:00"  # 100 tones of 30 s
    lines = up_next["value"].splitlines()
    assert len(lines) == 16 and lines[0].startswith("**1.** ") and "Tone 2" in lines[0]
    assert lines[0].endswith("`0:30` — alice") and lines[14].startswith("**15.** ")
    assert lines[-1] == "... and 84 more"
    added = await ask(h, alice, f"!play {audio_server.tone(440, 1)}")
    assert added.embeds[0]["title"] == "Added to Queue"
    assert added.embeds[0]["fields"][1]["value"] == "#100"
    assert (await ask(h, alice, f"!play {audio_server.tone(450, 1)}")).content == "Queue is full (max 100 songs)."
    assert await h.say(alice, "!remove 1") == "Removed **Tone 2** from the queue."
    assert await h.say(alice, "!shuffle") == "Shuffled **99** songs in the queue."
    assert await h.say(alice, "!skip") == "Skipped **Tone 1**."  # the next entry is resolved when it comes up
    recording = h.emu.voice.recording(h.guild, h.bot_user)
    mark = recording.audio_count
    await recording.wait_for(lambda r: r.audio_count >= mark + 25, timeout=15)


async def test_player_buttons_act_and_redraw_the_controls(harness_factory: Any, audio_server: AudioServer) -> None:
    h, alice, _lounge = await in_voice(harness_factory)
    playing = await ask(h, alice, f"!play {audio_server.tone(440, 20)}")
    await ask(h, alice, f"!play {audio_server.tone(660, 20)}")
    recording = h.emu.voice.recording(h.guild, h.bot_user)
    await recording.wait_for(lambda r: r.audio_count >= 10, timeout=15)
    pressed = await h.press(playing, alice, "music_pauseresume")
    assert [m.content for m in pressed.public_replies] == ["Paused."]
    now = h.emu.current_message(playing)
    assert now.components[0]["components"][0]["emoji"]["name"] == "▶️" and now.embeds[0]["footer"]["text"] == "Paused"
    pressed = await h.press(playing, alice, "music_loop")
    assert [m.content for m in pressed.public_replies] == ["Looping **current track**."]
    assert h.emu.current_message(playing).embeds[0]["footer"]["text"] == "Paused • Looping Track"
    pressed = await h.press(playing, alice, "music_pauseresume")
    assert [m.content for m in pressed.public_replies] == ["Resumed."]
    pressed = await h.press(playing, alice, "music_skip")
    assert [m.content for m in pressed.public_replies] == ["Skipped **tone-440-20**."]
    await h.emu.wait_for_bot_message(lambda m: bool(m.embeds) and m.embeds[0].get("title") == "Now Playing"
                                     and "tone-660-20" in m.embeds[0]["description"], bot=h.bot_user, timeout=10)


async def test_switching_music_off_live_leaves_voice(harness_factory: Any, audio_server: AudioServer) -> None:
    h, alice, _lounge = await in_voice(harness_factory)
    await ask(h, alice, f"!play {audio_server.tone(440, 20)}")
    await h.emu.voice.wait_connected(h.guild, h.bot_user)
    config = (h.folder / "config.toml").read_text()
    outcome = await h.edit_config(config + "\n[features]\nmusic = false\n" if "[features]" not in config
                                  else config.replace("[features]", "[features]\nmusic = false"))
    assert "rejected" not in outcome, outcome
    await h.emu.voice.wait_left(h.guild, h.bot_user)
    assert (await h.say(alice, "!ping")).startswith("Pong")


async def test_bot_dragged_into_an_empty_channel_or_disconnected_leaves(harness_factory: Any,
                                                                        audio_server: AudioServer) -> None:
    h, alice, _lounge = await in_voice(harness_factory)
    empty = h.emu.create_channel(h.guild, "Empty", GUILD_VOICE)
    await ask(h, alice, f"!play {audio_server.tone(440, 20)}")
    await h.emu.voice.wait_connected(h.guild, h.bot_user)
    h.emu.voice.move(h.guild, h.bot_user, empty)  # a moderator drags the bot away from its listeners
    await h.emu.voice.wait_left(h.guild, h.bot_user)
    assert (await h.say(alice, "!np")) == "Nothing is playing right now."
    await ask(h, alice, f"!play {audio_server.tone(440, 20)}")
    await h.emu.voice.wait_connected(h.guild, h.bot_user)
    h.emu.voice.disconnect(h.guild, h.bot_user)  # a moderator disconnects it: the player is cleared
    await h.emu.voice.wait_left(h.guild, h.bot_user)
    assert (await h.say(alice, "!queue")) == "Music Queue\nNothing is playing right now."
