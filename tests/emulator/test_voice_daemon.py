"""The daemon as a process (`run --ca-file`) reaches the emulator's wss voice server: a member's `!tone` is heard."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervisor.emulator import Emulator
from supervisor.emulator.models import GUILD_VOICE
from tests.support import REPO, DaemonProcess, InstanceFolders, fake_token

pytestmark = pytest.mark.e2e

# The real CLI with the test-only voiceprobe feature registered (a daemon process cannot take pytest fixtures).
LAUNCH = ("import sys; from supervisor import registry; "
          "registry.FEATURE_PACKAGES += ('tests.fixture_features.voiceprobe',); "
          "from supervisor.cli import main; sys.exit(main())")


async def test_a_daemon_process_trusting_the_emulators_ca_plays_into_voice(
        emu: Emulator, instances: InstanceFolders, tmp_path: Path, database_url: str, schemas: list[str],
        unique) -> None:
    schema = unique("voicedaemon")
    schemas.append(schema)
    token = fake_token("voicebot")
    bot_user = emu.add_application(token, "VoiceBot")
    owner = emu.create_user("owner")
    guild = emu.create_guild("Voice Guild", owner)
    general = emu.create_channel(guild, "general")
    lounge = emu.create_channel(guild, "Lounge", GUILD_VOICE)
    emu.add_bot_to_guild(guild, bot_user)
    alice = emu.create_user("alice")
    emu.add_member(guild, alice)
    emu.voice.join(guild, alice, lounge)
    instances.make("voicebot", config='bot_name = "Voice Bot"\ncommand_prefix = "!"\ncommand_root = ""\n'
                   '[features]\nvoiceprobe = true\nmoderation = false\n',
                   env={"DISCORD_TOKEN": token, "DB_SCHEMA": schema})
    daemon = DaemonProcess(instances.root, tmp_path, api_base=emu.api_base, gateway_url=emu.gateway_url,
                           database_url=database_url, ca_file=str(emu.voice.ca_file), program=("-c", LAUNCH),
                           env={"PYTHONPATH": str(REPO)})
    await daemon.start()
    try:
        await daemon.wait_running("voicebot", timeout=60)
        await emu.send_message(general, alice, "!tone")
        reply = await emu.wait_for_bot_message(channel=general, bot=bot_user, timeout=30)
        assert reply.content == "playing in Lounge"
        recording = emu.voice.recording(guild, bot_user)
        await recording.wait_for(lambda r: r.silence_count >= 5, timeout=30)
        assert recording.audio_count == 100 and recording.rejected == 0
        assert 47.5 <= recording.rate() <= 52.5
        assert sorted(emu.voice.members_in(lounge)) == sorted([alice.id, bot_user.id])
    finally:
        assert await daemon.stop() == 0
    await emu.voice.wait_left(guild, bot_user)  # stopping the daemon took the bot out of voice
