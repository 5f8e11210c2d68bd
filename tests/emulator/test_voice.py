"""Voice through the emulator: unmodified discord.py joins over wss, plays Opus over UDP, the emulator decrypts it.

Rates are measured from the emulator's arrival timestamps of the packets (what a listener would hear), never
from the test's own wall-clock waits.
"""

from __future__ import annotations

import asyncio

import discord
import pytest

from supervisor.emulator import Emulator
from supervisor.emulator.models import GUILD_VOICE, Overwrite
from supervisor.emulator.permissions import P
from supervisor.emulator.voice_recording import OPUS_SILENCE
from tests.support import BotRunner, World
from tests.support.voice import ToneSource

RATE_LOW, RATE_HIGH = 47.5, 52.5  # 50 packets a second, +-5 %


async def connect(bot: discord.Client, channel_id: int, timeout: float = 10.0) -> discord.VoiceClient:
    channel = bot.get_channel(channel_id)
    assert isinstance(channel, discord.VoiceChannel)
    return await channel.connect(timeout=timeout, reconnect=False)


async def finished(voice: discord.VoiceClient, timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while voice.is_playing() or voice.is_paused():
            await asyncio.sleep(0.02)


async def test_member_in_voice_is_in_guild_create_and_leaving_is_dispatched(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    alice = emu.create_user("alice")
    emu.add_member(world.guild, alice)
    emu.voice.join(world.guild, alice, lounge)
    changes: list[tuple[int, int | None, int | None]] = []

    def setup(bot: discord.Client) -> None:
        @bot.event
        async def on_voice_state_update(member: discord.Member, before: discord.VoiceState,
                                        after: discord.VoiceState) -> None:
            changes.append((member.id, before.channel and before.channel.id, after.channel and after.channel.id))

    bot = await bots.start(world.token, setup=setup)
    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    member = guild.get_member(alice.id)
    assert member is not None and member.voice is not None and member.voice.channel is not None
    assert member.voice.channel.id == lounge.id
    assert [m.id for m in guild.get_channel(lounge.id).members] == [alice.id]  # type: ignore[union-attr]

    assert emu.voice.leave(world.guild, alice)
    await emu.wait_until(lambda: bool(changes))
    assert changes == [(alice.id, lounge.id, None)]
    assert emu.voice.members_in(lounge) == []


async def test_bot_plays_decryptable_opus_at_50_packets_a_second(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    bot = await bots.start(world.token)
    voice = await connect(bot, lounge.id)
    assert emu.voice.voice_state(world.guild, world.bot_user).channel_id == lounge.id  # type: ignore[union-attr]
    link = await emu.voice.wait_connected(world.guild, world.bot_user)
    assert link.mode == voice.mode == "aead_xchacha20_poly1305_rtpsize"
    recording = emu.voice.recording(world.guild, world.bot_user)

    source = ToneSource(440, seconds=3)
    voice.play(source)
    await finished(voice)
    # The closing SPEAKING goes over the websocket, the silence over UDP: either may come first.
    await recording.wait_for(lambda r: r.silence_count >= 5 and len(r.speaking) >= 3)

    # Every frame the source produced arrived, decrypted, in order and nothing else but the closing silence.
    assert recording.audio_payloads == source.sent and len(source.sent) == 150
    assert recording.frame_sizes == [len(frame) for frame in source.sent]
    assert [p.opus for p in recording.packets[-5:]] == [OPUS_SILENCE] * 5
    assert recording.rejected == 0 and emu.voice.stray_packets == 0
    assert RATE_LOW <= recording.rate() <= RATE_HIGH, recording.rate()
    sequences = [p.sequence for p in recording.packets]
    assert sequences == list(range(sequences[0], sequences[0] + len(sequences)))
    assert {b.timestamp - a.timestamp for a, b in zip(recording.audio, recording.audio[1:], strict=False)} == {960}
    # SPEAKING: "not speaking" with the key (announces the ssrc), speaking while playing, not speaking at the end.
    assert [event.speaking for event in recording.speaking] == [0, 1, 0]
    assert link.heartbeats >= 0 and link.ssrc == voice.ssrc


async def test_pause_stops_packets_and_resume_restarts_them(emu: Emulator, world: World, bots: BotRunner) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    bot = await bots.start(world.token)
    voice = await connect(bot, lounge.id)
    recording = emu.voice.recording(world.guild, world.bot_user)
    voice.play(ToneSource(330, seconds=20))
    await recording.wait_audio(25)

    voice.pause()
    await recording.wait_for(lambda r: r.silence_count >= 5)
    await recording.wait_quiet(0.3)  # 15 packet times without a packet: the stream stopped
    paused_at = len(recording.packets)
    heard = recording.audio_count
    assert [p.opus for p in recording.packets[-5:]] == [OPUS_SILENCE] * 5

    voice.resume()
    await recording.wait_audio(heard + 100)
    resumed = [p for p in recording.since(paused_at) if p.audio]
    assert RATE_LOW <= recording.rate(resumed) <= RATE_HIGH

    voice.stop()
    await recording.wait_for(lambda r: r.silence_count >= 10)
    await recording.wait_quiet(0.3)
    assert recording.audio_count < 1000  # stopped long before the 20 s source's end


async def test_disconnect_ends_the_voice_state_and_the_link(emu: Emulator, world: World, bots: BotRunner) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    bot = await bots.start(world.token)
    voice = await connect(bot, lounge.id)
    await emu.voice.wait_connected(world.guild, world.bot_user)
    assert emu.voice.members_in(lounge) == [world.bot_user.id]

    await voice.disconnect()
    await emu.voice.wait_left(world.guild, world.bot_user)
    assert emu.voice.members_in(lounge) == []
    assert bot.get_guild(world.guild.id).voice_client is None  # type: ignore[union-attr]


async def test_a_moderator_disconnecting_the_bot_ends_its_voice_client(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    bot = await bots.start(world.token)
    voice = await connect(bot, lounge.id)
    voice.play(ToneSource(550, seconds=20))
    recording = emu.voice.recording(world.guild, world.bot_user)
    await recording.wait_audio(10)

    assert emu.voice.disconnect(world.guild, world.bot_user)
    await emu.wait_until(lambda: bot.get_guild(world.guild.id).voice_client is None)  # type: ignore[union-attr]
    assert not voice.is_connected() and not voice.is_playing()
    assert emu.voice.voice_state(world.guild, world.bot_user) is None


async def test_two_bots_in_two_guilds_each_recording_holds_only_its_own_audio(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    first_lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    other_owner = emu.create_user("other-owner")
    other_guild = emu.create_guild("Other Guild", other_owner)
    other_lounge = emu.create_channel(other_guild, "Lounge", GUILD_VOICE)
    other_bot_user = emu.add_application("bot-token-2", "OtherBot")
    emu.add_bot_to_guild(other_guild, other_bot_user)
    first_bot = await bots.start(world.token)
    other_bot = await bots.start("bot-token-2")
    first_voice, other_voice = await asyncio.gather(connect(first_bot, first_lounge.id),
                                                    connect(other_bot, other_lounge.id))
    first_source, other_source = ToneSource(440, seconds=2), ToneSource(660, seconds=2)
    first_voice.play(first_source)
    other_voice.play(other_source)
    await asyncio.gather(finished(first_voice), finished(other_voice))
    first = emu.voice.recording(world.guild, world.bot_user)
    other = emu.voice.recording(other_guild, other_bot_user)
    await first.wait_for(lambda r: r.silence_count >= 5)
    await other.wait_for(lambda r: r.silence_count >= 5)

    assert first.audio_payloads == first_source.sent
    assert other.audio_payloads == other_source.sent
    assert not set(first.audio_payloads) & set(other.audio_payloads)
    assert {p.ssrc for p in first.packets} == {first_voice.ssrc}
    assert {p.ssrc for p in other.packets} == {other_voice.ssrc}
    assert emu.voice.recording(world.guild, other_bot_user).packets == []
    assert RATE_LOW <= first.rate() <= RATE_HIGH and RATE_LOW <= other.rate() <= RATE_HIGH


async def test_no_connect_permission_means_no_voice_server(emu: Emulator, world: World, bots: BotRunner) -> None:
    locked = emu.create_channel(world.guild, "Locked", GUILD_VOICE,
                                overwrites=[Overwrite.for_role(world.guild.id, deny=P.CONNECT)])
    bot = await bots.start(world.token)
    with pytest.raises(asyncio.TimeoutError):
        await connect(bot, locked.id, timeout=0.3)
    assert [r.reason for r in emu.voice.refused] == [f"missing VIEW_CHANNEL/CONNECT in channel {locked.id}"]
    assert emu.voice.voice_state(world.guild, world.bot_user) is None


@pytest.mark.parametrize("mode", ["aead_xchacha20_poly1305_rtpsize", "xsalsa20_poly1305_lite",
                                  "xsalsa20_poly1305_suffix", "xsalsa20_poly1305"])
async def test_every_mode_discord_py_offers_is_decrypted(emu: Emulator, world: World, bots: BotRunner,
                                                         mode: str) -> None:
    emu.voice.server.modes = (mode,)  # what READY offers: discord.py takes the first it supports
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    bot = await bots.start(world.token)
    voice = await connect(bot, lounge.id)
    assert voice.mode == mode
    source = ToneSource(440, seconds=0.2)
    voice.play(source)
    recording = emu.voice.recording(world.guild, world.bot_user)
    await recording.wait_for(lambda r: r.silence_count >= 5)
    assert recording.audio_payloads == source.sent and len(source.sent) == 10
    assert recording.rejected == 0


async def test_moving_the_bot_keeps_its_audio_flowing_in_the_new_channel(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    stage = emu.create_channel(world.guild, "Stage", GUILD_VOICE)
    bot = await bots.start(world.token)
    voice = await connect(bot, lounge.id)
    recording = emu.voice.recording(world.guild, world.bot_user)
    voice.play(ToneSource(440, seconds=20))
    await recording.wait_audio(10)
    first_ssrc = emu.voice.link(world.guild, world.bot_user).ssrc  # type: ignore[union-attr]

    await voice.move_to(bot.get_channel(stage.id), timeout=10)
    heard = recording.audio_count
    await recording.wait_audio(heard + 50)
    assert emu.voice.members_in(stage) == [world.bot_user.id] and emu.voice.members_in(lounge) == []
    link = emu.voice.link(world.guild, world.bot_user)
    assert link is not None and link.ssrc != first_ssrc  # a new voice link: the old one closed with 4014
    assert voice.channel.id == stage.id and link.ssrc == voice.ssrc
    voice.stop()


async def test_a_moderator_moving_the_playing_bot_moves_its_audio(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    stage = emu.create_channel(world.guild, "Stage", GUILD_VOICE)
    bot = await bots.start(world.token)
    voice = await connect(bot, lounge.id)
    recording = emu.voice.recording(world.guild, world.bot_user)
    voice.play(ToneSource(440, seconds=20))
    await recording.wait_audio(10)

    emu.voice.move(world.guild, world.bot_user, stage)
    await emu.wait_until(lambda: voice.channel.id == stage.id)
    heard = recording.audio_count
    await recording.wait_audio(heard + 50)
    assert emu.voice.members_in(stage) == [world.bot_user.id]
    assert emu.voice.link(world.guild, world.bot_user).ssrc == voice.ssrc  # type: ignore[union-attr]
    voice.stop()


async def test_a_bot_moves_mutes_and_disconnects_members_over_rest(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    stage = emu.create_channel(world.guild, "Stage", GUILD_VOICE)
    alice, bob = emu.create_user("alice"), emu.create_user("bob")
    emu.add_member(world.guild, alice)
    emu.add_member(world.guild, bob)
    emu.voice.join(world.guild, alice, lounge)
    bot = await bots.start(world.token)
    guild = bot.get_guild(world.guild.id)
    assert guild is not None
    member = guild.get_member(alice.id)
    assert member is not None

    with pytest.raises(discord.Forbidden):  # no Move Members yet
        await member.move_to(guild.get_channel(stage.id))  # type: ignore[arg-type]
    mover = emu.create_role(world.guild, "mover", P.MOVE_MEMBERS | P.MUTE_MEMBERS)
    emu.set_member_roles(world.guild, world.bot_user, [mover])
    await emu.wait_until(lambda: mover.id in [r.id for r in guild.me.roles])

    await member.move_to(guild.get_channel(stage.id))  # type: ignore[arg-type]
    assert emu.voice.members_in(stage) == [alice.id]
    await member.edit(mute=True)
    assert emu.member(world.guild, alice).mute  # type: ignore[union-attr]
    await emu.wait_until(lambda: member.voice is not None and member.voice.mute)
    await member.move_to(None)
    assert emu.voice.voice_state(world.guild, alice) is None
    with pytest.raises(discord.HTTPException) as raised:
        await guild.get_member(bob.id).move_to(guild.get_channel(stage.id))  # type: ignore[union-attr,arg-type]
    assert raised.value.code == 40032  # Target user is not connected to voice


async def test_deleting_the_voice_channel_or_kicking_empties_voice(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    alice = emu.create_user("alice")
    emu.add_member(world.guild, alice)
    emu.voice.join(world.guild, alice, lounge)
    bot = await bots.start(world.token)
    await connect(bot, lounge.id)
    await emu.voice.wait_connected(world.guild, world.bot_user)

    emu.delete_channel(lounge)
    await emu.wait_until(lambda: bot.get_guild(world.guild.id).voice_client is None)  # type: ignore[union-attr]
    assert emu.voice.voice_state(world.guild, alice) is None
    assert emu.voice.voice_state(world.guild, world.bot_user) is None

    stage = emu.create_channel(world.guild, "Stage", GUILD_VOICE)
    emu.voice.join(world.guild, alice, stage)
    emu.remove_member(world.guild, alice)
    assert emu.voice.members_in(stage) == []


async def test_without_the_voice_states_intent_connect_never_completes(
        emu: Emulator, world: World, bots: BotRunner) -> None:
    # Discord sends a bot's own VOICE_STATE_UPDATE only with GUILD_VOICE_STATES (discord-api-docs issue 1724), and
    # discord.py waits for it: the feature must declare the intent.
    lounge = emu.create_channel(world.guild, "Lounge", GUILD_VOICE)
    intents = discord.Intents.default()
    intents.voice_states = False
    bot = await bots.start(world.token, intents=intents)
    with pytest.raises(asyncio.TimeoutError):
        await connect(bot, lounge.id, timeout=0.3)
    assert emu.voice.refused == [] and emu.voice.link(world.guild, world.bot_user) is None
