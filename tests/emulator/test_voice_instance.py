"""The daemon's own bots (InstanceBot, built by the runner) reach the emulator's wss voice server: the harness
trusts the emulator's CA the way `run --ca-file` does, and a member's `!tone` is heard by the emulator."""

from __future__ import annotations

from supervisor.emulator.models import GUILD_VOICE
from tests.support.harness import config_for

CONFIG_EXTRA = 'command_root = ""\n[features]\nvoiceprobe = true\n'


async def test_an_instance_bot_joins_the_members_voice_channel_and_is_heard(harness_factory, test_features) -> None:
    h = await harness_factory(config=config_for("voice", "!", CONFIG_EXTRA))
    lounge = h.emu.create_channel(h.guild, "Lounge", GUILD_VOICE)
    alice = h.add_member("alice")
    assert await h.say(alice, "!tone") == "You need to be in a voice channel!"

    h.emu.voice.join(h.guild, alice, lounge)
    assert await h.say(alice, "!tone") == "playing in Lounge"
    recording = h.emu.voice.recording(h.guild, h.bot_user)
    await recording.wait_for(lambda r: r.silence_count >= 5)
    played = h.bot.get_cog("VoiceProbeCog").sources  # type: ignore[union-attr]
    assert recording.audio_payloads == played[0].sent and len(played[0].sent) == 100
    assert 47.5 <= recording.rate() <= 52.5
    assert sorted(h.emu.voice.members_in(lounge)) == sorted([alice.id, h.bot_user.id])

    assert await h.say(alice, "!leave") == "left"
    await h.emu.voice.wait_left(h.guild, h.bot_user)
    assert h.emu.voice.members_in(lounge) == [alice.id]
