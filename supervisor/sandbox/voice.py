"""Voice in the sandbox: `/voice #General` puts the current member in a voice channel; the prompt shows what each
bot plays, with the count of Opus packets the emulator has decrypted from it (live: redrawn twice a second)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from supervisor.sandbox.slash import slash

if TYPE_CHECKING:
    from supervisor.emulator import Emulator
    from supervisor.sandbox.chat import Chat
    from supervisor.sandbox.world import SandboxWorld

VOICE_CHANNELS = ("General", "Music")


@slash("voice", "#CHANNEL", "join a voice channel as the current member (General, Music); /voice leave leaves")
def voice(chat: Chat, argument: str) -> None:
    world = chat.current
    assert world is not None
    member = world.members[chat.speaker]
    name = argument.lstrip("#").strip()
    if name.lower() in ("", "leave", "off"):
        left = chat.emu.voice.leave(world.guild, member)
        chat.say(f"{chat.speaker} left voice." if left else f"{chat.speaker} is not in voice.")
        return
    channel = next((c for n, c in world.voice_channels.items() if n.lower() == name.lower()), None)
    if channel is None:
        chat.say(f"No voice channel {argument!r}. Voice channels: {', '.join(world.voice_channels)}")
        return
    chat.emu.voice.join(world.guild, member, channel)
    chat.say(f"{chat.speaker} joined voice #{next(n for n, c in world.voice_channels.items() if c is channel)}. "
             "Try `!m play chord` (or arpeggio, a minor, a440 tone).")


def playing_lines(emu: Emulator, world: SandboxWorld, services: Callable[[str], Mapping[str, Any] | None]) -> list[str]:
    """'example ♪ c-major-chord 1234 packets' for every bot connected to voice."""
    lines = []
    for name, guild in world.guilds.items():
        if not emu.voice.connected(guild.guild, guild.bot_user):
            continue
        packets = emu.voice.recording(guild.guild, guild.bot_user).audio_count
        players = (services(name) or {}).get("music.players") or {}
        player = players.get(guild.guild.id)
        current = getattr(player, "current", None)
        title = current.title[:40] if current is not None else "idle"
        paused = " (paused)" if getattr(player, "paused", False) else ""
        lines.append(f"{name} ♪ {title}{paused} {packets} packets")
    return lines
