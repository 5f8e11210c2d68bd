"""One guild's player: the voice connection, the current track, the queue, loop mode, Now Playing and idle leave.

Everything here runs on the event loop, under one lock per guild, except `read()` of the source (discord.py's
player thread). A track that ends calls back from that thread; the callback only schedules `_ended` on the loop,
and `_ended` ignores a source that is no longer current (a skip already moved on: no double advance).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord

from . import embeds
from .clock import clock_of
from .resolve import ResolveFailed
from .source import NotAudio, OpusSource
from .tracks import MAX_QUEUE, LoopMode, Track

if TYPE_CHECKING:
    from .service import MusicService

CONNECT_TIMEOUT = 20.0


class GuildPlayer:
    def __init__(self, service: MusicService, guild: discord.Guild):
        self.service = service
        self.guild = guild
        self.log = service.ctx.log.bind(guild_id=guild.id)
        self.queue: deque[Track] = deque()
        self.current: Track | None = None
        self.source: OpusSource | None = None
        self.loop = LoopMode.OFF
        self.paused = False
        self.channel: discord.abc.Messageable | None = None  # where Now Playing goes
        self.now_playing: discord.Message | None = None
        self._controls: embeds.Controls | None = None
        self._idle: asyncio.Task[None] | None = None
        self.lock = asyncio.Lock()
        self.packets_before = 0  # Opus packets of finished tracks (the sandbox's counter)

    # -- state -------------------------------------------------------------------------------------
    @property
    def voice(self) -> discord.VoiceClient | None:
        client = self.guild.voice_client
        return client if isinstance(client, discord.VoiceClient) else None

    @property
    def voice_channel(self) -> discord.abc.GuildChannel | None:
        voice = self.voice
        return voice.channel if voice is not None and voice.is_connected() else None  # type: ignore[return-value]

    @property
    def packets(self) -> int:
        return self.packets_before + (self.source.frames_sent if self.source else 0)

    def is_full(self) -> bool:
        return len(self.queue) >= MAX_QUEUE

    # -- voice -------------------------------------------------------------------------------------
    async def join(self, channel: discord.VoiceChannel | discord.StageChannel) -> None:
        """Raises discord.ClientException when the bot may not connect and speak there (no wait for a timeout)."""
        me = self.guild.me
        allowed = channel.permissions_for(me) if me is not None else None
        if allowed is None or not (allowed.connect and allowed.speak):
            raise discord.ClientException("missing Connect or Speak in that channel")
        voice = self.voice
        if voice is not None and voice.is_connected():
            if voice.channel.id != channel.id:
                await voice.move_to(channel)
            return
        if voice is not None:  # a half-open connection from before: start over
            await voice.disconnect(force=True)
        await channel.connect(timeout=CONNECT_TIMEOUT, reconnect=True, self_deaf=True)
        self.log.info("music_voice_joined", channel_id=channel.id)

    # -- playing -----------------------------------------------------------------------------------
    async def open(self, track: Track) -> OpusSource:
        track = await self.service.resolver.stream(track)
        settings = self.service.ctx.settings
        url, headers = track.stream_url or track.url, dict(track.headers)
        bitrate, complexity = int(settings["bitrate"]) * 1000, int(settings["complexity"])
        source = await self.service.resolver.run(
            lambda: OpusSource.open(url, bitrate=bitrate, complexity=complexity, headers=headers))
        if not track.duration and source.duration:
            track.duration = source.duration
        if self.service.encoder is not None:
            source.encode_ahead(self.service.encoder)
        return source

    async def start(self, track: Track, source: OpusSource | None = None) -> None:
        """Play `track` now (whatever played stops). Raises ResolveFailed/NotAudio when it cannot be played."""
        source = source or await self.open(track)
        voice = self.voice
        if voice is None or not voice.is_connected():
            source.cleanup()
            raise ResolveFailed("not connected to voice")
        self._cancel_idle()
        self._stop_source()
        self.current, self.source, self.paused = track, source, False
        loop = asyncio.get_running_loop()
        voice.play(source, after=lambda error: loop.call_soon_threadsafe(self._schedule_end, source, error))
        self.log.info("music_track_started", title=track.title[:100], duration=track.duration)

    def _schedule_end(self, source: OpusSource, error: Exception | None) -> None:
        if error is not None:
            self.log.warning("music_track_failed", error=repr(error))
        if source is self.source:
            self.service.ctx.spawn("track-end", lambda: self._ended(source))

    async def _ended(self, source: OpusSource) -> None:
        try:
            await self._advance_after(source)
        except Exception:  # a background task's error would restart the instance: one guild's bad luck is logged
            self.log.exception("music_advance_failed")

    async def _advance_after(self, source: OpusSource) -> None:
        async with self.lock:
            if source is not self.source:
                return  # skipped or stopped meanwhile
            finished = self.current
            if finished is not None and self.loop is LoopMode.TRACK:
                self.queue.appendleft(finished)
            elif finished is not None and self.loop is LoopMode.QUEUE:
                self.queue.append(finished)
            await self.advance()

    async def advance(self, announce: bool = True) -> Track | None:
        """Start the next playable track of the queue and post its Now Playing (unless the caller does); idle
        when none is left."""
        self._stop_source()
        while self.queue:
            track = self.queue.popleft()
            try:
                await self.start(track)
            except (ResolveFailed, NotAudio) as error:
                self.log.info("music_track_unplayable", title=track.title[:100], error=str(error)[:200])
                await self.say(f"Couldn't play **{discord.utils.escape_markdown(track.title[:200])}**, skipping.")
                continue
            if announce:
                await self.post_now_playing()
            return track
        self.current = None
        await self.retire_now_playing()
        self.start_idle()
        return None

    def _stop_source(self) -> None:
        """Stop what plays without triggering an advance (the source is no longer current first)."""
        source, self.source = self.source, None
        if source is not None:
            self.packets_before += source.frames_sent
        voice = self.voice
        if voice is not None and (voice.is_playing() or voice.is_paused()):
            voice.stop()
        elif source is not None:
            source.cleanup()

    # -- commands ----------------------------------------------------------------------------------
    def enqueue(self, track: Track) -> int:
        self.queue.append(track)
        return len(self.queue)

    async def skip(self) -> str | None:
        """The skipped title, the next track already started; None when nothing plays."""
        skipped = self.current
        if skipped is None:
            return None
        if self.loop is LoopMode.QUEUE:
            self.queue.append(skipped)
        await self.advance(announce=False)
        return skipped.title

    def pause(self) -> bool:
        voice = self.voice
        if self.current is None or self.paused or voice is None:
            return False
        voice.pause()
        self.paused = True
        return True

    def resume(self) -> bool:
        voice = self.voice
        if self.current is None or not self.paused or voice is None:
            return False
        voice.resume()
        self.paused = False
        return True

    def shuffle(self) -> int:
        items = list(self.queue)
        if len(items) >= 2:
            random.shuffle(items)
            self.queue = deque(items)
        return len(items)

    def remove(self, position: int) -> Track | None:
        if not 1 <= position <= len(self.queue):
            return None
        track = self.queue[position - 1]
        del self.queue[position - 1]
        return track

    async def leave(self, reason: str) -> None:
        """Stop, clear and disconnect (stop, idle, nobody left, kicked from voice)."""
        self._cancel_idle()
        self.queue.clear()
        self.current, self.paused = None, False
        self._stop_source()
        voice = self.voice
        if voice is not None:
            with contextlib.suppress(Exception):
                await voice.disconnect(force=True)
        await self.retire_now_playing()
        self.log.info("music_left_voice", reason=reason)
        self.service.forget(self)

    # -- messages ----------------------------------------------------------------------------------
    def controls(self) -> embeds.Controls:
        return embeds.Controls(self.service.press, self.paused, self.loop)

    async def say(self, text: str) -> None:
        if self.channel is not None:
            with contextlib.suppress(discord.HTTPException):
                await self.channel.send(text)

    async def post_now_playing(self, send: Callable[..., Any] | None = None,
                               embed: discord.Embed | None = None) -> discord.Message | None:
        """A new Now Playing with controls; the previous one is deleted so no stale controls stay behind."""
        if self.current is None:
            return None
        await self.retire_now_playing()
        view = self.controls()
        sender = send or (self.channel.send if self.channel is not None else None)
        if sender is None:
            return None
        try:
            message = await sender(embed=embed or embeds.now_playing(self.current, self.paused, self.loop), view=view)
        except discord.HTTPException as error:
            view.stop()
            self.log.info("music_now_playing_failed", status=error.status)
            return None
        self.adopt_now_playing(message, view)
        return message

    def adopt_now_playing(self, message: discord.Message, view: embeds.Controls) -> None:
        self.now_playing, self._controls = message, view

    async def retire_now_playing(self) -> None:
        message, view = self.now_playing, self._controls
        self.now_playing = self._controls = None
        if view is not None:
            view.stop()
        if message is not None:
            with contextlib.suppress(discord.HTTPException):
                await message.delete()

    async def refresh_controls(self) -> None:
        """Pause and loop show on the buttons and the footer: redraw the current Now Playing."""
        if self.now_playing is None or self.current is None:
            return
        old, view = self._controls, self.controls()
        try:
            await self.now_playing.edit(embed=embeds.now_playing(self.current, self.paused, self.loop), view=view)
        except discord.HTTPException:
            view.stop()
            return
        self._controls = view
        if old is not None:
            old.stop()

    # -- idle --------------------------------------------------------------------------------------
    def start_idle(self) -> None:
        self._cancel_idle()
        seconds = float(self.service.ctx.settings["idle_timeout"])
        clock = clock_of(self.service.ctx)

        async def wait_then_leave() -> None:
            await clock.sleep(seconds)
            async with self.lock:
                if self.current is None and self._idle is asyncio.current_task():
                    self._idle = None
                    try:
                        await self.leave("idle")
                    except Exception:
                        self.log.exception("music_idle_leave_failed")

        self._idle = self.service.ctx.spawn("idle-leave", wait_then_leave)

    def _cancel_idle(self) -> None:
        task, self._idle = self._idle, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
