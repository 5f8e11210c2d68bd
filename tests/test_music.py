"""Music without voice: the checks a member meets before the bot joins (no voice channel, DJ mode)."""

from __future__ import annotations

from typing import Any

from supervisor.emulator import P

pytestmark = []

CONFIG = 'command_root = ""\n'


async def test_play_outside_voice_is_refused_and_ping_still_answers(harness_factory: Any) -> None:
    h = await harness_factory(config_extra=CONFIG)
    alice = h.add_member("alice")
    assert await h.say(alice, "!play https://example.invalid/song.ogg") == "You need to be in a voice channel!"
    assert await h.say(alice, "!p never gonna") == "You need to be in a voice channel!"
    assert await h.say(alice, "!skip") == "Nothing is playing right now."
    assert await h.say(alice, "!pause") == "Nothing is playing right now."
    assert await h.say(alice, "!resume") == "Playback is not paused."
    assert await h.say(alice, "!queue") == "Music Queue\nNothing is playing right now."
    assert await h.say(alice, "!np") == "Nothing is playing right now."
    assert await h.say(alice, "!shuffle") == "Not enough songs in queue to shuffle."
    assert await h.say(alice, "!remove 1") == "Invalid position. Queue has 0 songs."
    assert await h.say(alice, "!loop") == "Looping **current track**."
    assert await h.say(alice, "!loop") == "Looping **entire queue**."
    assert await h.say(alice, "!loop off") == "Loop disabled."
    assert await h.say(alice, "!stop") == "Stopped playback, cleared queue, and left voice."
    assert (await h.say(alice, "!ping")).startswith("Pong!")


async def test_dj_mode_refuses_music_commands_to_members_without_the_role(harness_factory: Any) -> None:
    h = await harness_factory(config_extra=CONFIG)
    dj = h.emu.create_role(h.guild, "dj", 0, position=1)
    bob = h.add_member("bob")
    carol = h.add_member("carol", roles=[dj])
    admin = h.add_member("admin", permissions=int(P.ADMINISTRATOR))
    assert await h.say(admin, f"!djrole <@&{dj.id}>") == "DJ role set to **dj**."
    assert (await h.say(admin, "!djmode")).startswith("DJ mode **enabled**.")
    refusal = "DJ mode is enabled. You need the DJ role to use music commands."
    for command in ("!play something", "!skip", "!stop", "!pause", "!resume", "!loop", "!shuffle", "!remove 1",
                    "!playlist https://example.invalid/list"):
        assert await h.say(bob, command) == refusal, command
    # queue and nowplaying are not gated, as the original; the DJ and an admin pass to the next check
    assert await h.say(bob, "!queue") == "Music Queue\nNothing is playing right now."
    assert await h.say(bob, "!np") == "Nothing is playing right now."
    assert await h.say(carol, "!play something") == "You need to be in a voice channel!"
    assert await h.say(admin, "!play something") == "You need to be in a voice channel!"


async def test_fifteen_music_commands_in_thirty_seconds_then_slow_down(harness_factory: Any) -> None:
    h = await harness_factory(config_extra=CONFIG)
    dave = h.add_member("dave")
    for _ in range(15):
        assert await h.say(dave, "!np") == "Nothing is playing right now."
    assert (await h.say(dave, "!queue")).startswith("Slow down — try again in ")
    assert (await h.say(h.owner, "!np")) == "Nothing is playing right now."  # per member
