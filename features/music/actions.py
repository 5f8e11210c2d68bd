"""What each music command does, shared by the prefix commands, the buttons and AI chat's tools.

Each action returns a `Reply` (the original's text or embed); the caller sends it its own way. Checks that
differ between callers (DJ mode, the rate limit) stay with the callers.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

import discord
from supervisor.sdk import UserError

from . import embeds
from .player import GuildPlayer
from .resolve import COOKIES_EXPIRED, ResolveFailed
from .service import NOTHING_PLAYING, STOPPED, MusicService
from .source import NotAudio
from .tracks import MAX_QUEUE, LoopMode, Track

T = TypeVar("T")

NOT_IN_VOICE = "You need to be in a voice channel!"
NOT_FOUND = "Couldn't find that song. Try a different search."
QUEUE_FULL = f"Queue is full (max {MAX_QUEUE} songs)."
JOIN_FAILED = "I couldn't join your voice channel. Check that I may connect and speak there."


@dataclass
class Reply:
    text: str | None = None
    embed: discord.Embed | None = None
    now_playing: bool = False  # the reply is the player's new Now Playing, with controls
    then_now_playing: bool = False  # post a Now Playing after the text (skip)


def _voice_channel(member: discord.Member) -> discord.VoiceChannel | discord.StageChannel:
    channel = member.voice.channel if member.voice else None
    if channel is None:
        raise UserError(NOT_IN_VOICE)
    return channel


async def _warn_cookies(service: MusicService, channel: discord.abc.Messageable) -> None:
    if service.resolver.take_cookie_warning():
        try:
            await channel.send(COOKIES_EXPIRED)
        except discord.HTTPException:
            service.ctx.log.info("music_cookie_warning_failed")


async def _start_or_queue(service: MusicService, player: GuildPlayer, member: discord.Member,
                          channel: discord.abc.Messageable, tracks: list[Track]) -> tuple[Track | None, int]:
    """(the track that started now or None, how many were queued)."""
    first: Track | None = None
    source = None
    if player.current is None:
        first = tracks[0]
        try:
            source = await player.open(first)  # before joining: a song that cannot play never brings the bot in
        except (ResolveFailed, NotAudio) as error:
            service.ctx.log.info("music_unplayable", error=str(error)[:200])
            raise UserError(NOT_FOUND) from None
    voice_channel = _voice_channel(member)
    async with player.lock:
        player.channel = channel
        if first is not None and player.current is not None:  # another play won the race: queue this one
            assert source is not None
            source.cleanup()
            first = source = None
        rest = tracks[1:] if first is not None else tracks
        room = max(0, MAX_QUEUE - len(player.queue))
        if first is None and not room:
            raise UserError(QUEUE_FULL)
        try:
            await player.join(voice_channel)
        except (discord.ClientException, TimeoutError, discord.HTTPException) as error:
            if source is not None:
                source.cleanup()
            service.ctx.log.warning("music_join_failed", error=repr(error))
            raise UserError(JOIN_FAILED) from None
        added = rest[:room]
        player.queue.extend(added)
        if first is not None:
            await player.start(first, source)
        return first, len(added)


async def _resolved(service: MusicService, channel: discord.abc.Messageable, lookup: Awaitable[T], what: str,
                    failure: str) -> T:
    """What the resolver found; a failure is logged (`what`: track or playlist) and told as `failure`. Either way,
    warn when the cookies have expired."""
    try:
        return await lookup
    except ResolveFailed as error:
        service.ctx.log.info("music_resolve_failed", what=what, error=str(error)[:200])
        raise UserError(failure) from None
    finally:
        await _warn_cookies(service, channel)


async def play(service: MusicService, member: discord.Member, channel: discord.abc.Messageable,
               query: str) -> Reply:
    _voice_channel(member)
    track = await _resolved(service, channel, service.resolver.track(query, member.display_name),
                            "track", NOT_FOUND)
    player = service.player(member.guild)
    started, _queued = await _start_or_queue(service, player, member, channel, [track])
    if started is not None:
        return Reply(now_playing=True)
    return Reply(embed=embeds.added_to_queue(track, len(player.queue)))


async def playlist(service: MusicService, member: discord.Member, channel: discord.abc.Messageable,
                   url: str) -> Reply:
    _voice_channel(member)
    tracks = await _resolved(service, channel, service.resolver.playlist(url, member.display_name),
                             "playlist", "Couldn't load that playlist.")
    if not tracks:
        raise UserError("No tracks found in that playlist.")
    player = service.player(member.guild)
    started, queued = await _start_or_queue(service, player, member, channel, tracks)
    if started is not None:
        return Reply(embed=embeds.playlist_queued(queued + 1, started), now_playing=True)
    return Reply(embed=embeds.playlist_queued(queued, None))


async def skip(service: MusicService, guild: discord.Guild) -> Reply:
    player = service.players.get(guild.id)
    if player is None:
        return Reply(NOTHING_PLAYING)
    async with player.lock:
        title = await player.skip()
        if title is None:
            return Reply(NOTHING_PLAYING)
        shown = discord.utils.escape_markdown(title[:200])
        if player.current is None:
            return Reply(f"Skipped **{shown}**. Queue is empty.")
        return Reply(f"Skipped **{shown}**.", then_now_playing=True)


async def stop(service: MusicService, guild: discord.Guild) -> Reply:
    player = service.players.get(guild.id)
    if player is not None:
        async with player.lock:
            await player.leave("stop")
    elif isinstance(guild.voice_client, discord.VoiceClient):
        await guild.voice_client.disconnect(force=True)
    return Reply(STOPPED)


async def pause(service: MusicService, guild: discord.Guild) -> Reply:
    player = service.players.get(guild.id)
    if player is None or not player.pause():
        return Reply(NOTHING_PLAYING)
    await player.refresh_controls()
    return Reply("Paused.")


async def resume(service: MusicService, guild: discord.Guild) -> Reply:
    player = service.players.get(guild.id)
    if player is None or not player.resume():
        return Reply("Playback is not paused.")
    await player.refresh_controls()
    return Reply("Resumed.")


def queue(service: MusicService, guild: discord.Guild) -> Reply:
    player = service.players.get(guild.id)
    return Reply(embed=embeds.queue_view(player.current if player else None, list(player.queue) if player else []))


def now_playing(service: MusicService, guild: discord.Guild) -> Reply:
    player = service.players.get(guild.id)
    if player is None or player.current is None:
        return Reply(NOTHING_PLAYING)
    return Reply(now_playing=True)


def remove(service: MusicService, guild: discord.Guild, position: int) -> Reply:
    player = service.players.get(guild.id)
    removed = player.remove(position) if player else None
    if removed is None:
        count = len(player.queue) if player else 0
        return Reply(f"Invalid position. Queue has {count} song{'' if count == 1 else 's'}.")
    return Reply(f"Removed **{discord.utils.escape_markdown(removed.title[:200])}** from the queue.")


async def set_loop(service: MusicService, guild: discord.Guild, word: str | None) -> Reply:
    player = service.player(guild)
    player.loop = LoopMode.parse(word, player.loop)
    await player.refresh_controls()
    return Reply(player.loop.label)


def shuffle(service: MusicService, guild: discord.Guild) -> Reply:
    player = service.players.get(guild.id)
    count = player.shuffle() if player else 0
    if count < 2:
        return Reply("Not enough songs in queue to shuffle.")
    return Reply(f"Shuffled **{count}** songs in the queue.")


# -- buttons ---------------------------------------------------------------------------------------
async def button_action(service: MusicService, player: GuildPlayer, interaction: discord.Interaction,
                        custom_id: str) -> None:
    guild = player.guild
    if custom_id == "music_pauseresume":
        reply = await (resume(service, guild) if player.paused else pause(service, guild))
    elif custom_id == "music_skip":
        reply = await skip(service, guild)
    elif custom_id == "music_stop":
        reply = await stop(service, guild)
    elif custom_id == "music_shuffle":
        reply = shuffle(service, guild)
    elif custom_id == "music_loop":
        reply = await set_loop(service, guild, None)
    else:
        await interaction.response.send_message("Unknown control.", ephemeral=True)
        return
    await interaction.response.send_message(reply.text or "")
    if reply.then_now_playing and interaction.channel is not None:
        player.channel = interaction.channel  # type: ignore[assignment]
        await player.post_now_playing()
