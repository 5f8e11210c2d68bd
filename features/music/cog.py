"""Music commands (play, playlist, skip, stop, pause, resume, queue, nowplaying, remove, loop, shuffle)."""

from __future__ import annotations

import functools

import discord
from discord.ext import commands
from supervisor.sdk import FeatureContext, UserError

from . import actions
from .actions import Reply
from .embeds import Controls
from .service import MusicService
from .tools import MusicTools

DJ_COMMANDS = frozenset({"play", "playlist", "skip", "stop", "pause", "resume", "remove", "loop", "shuffle"})


class MusicCog(commands.Cog, name="Music"):
    def __init__(self, ctx: FeatureContext):
        self.instance = ctx
        self.service = MusicService(ctx)
        self._persistent: Controls | None = None
        ctx.provide("music.tools", MusicTools(self.service))
        ctx.provide("music.players", self.service.players)  # the sandbox's "now playing" line

    async def cog_load(self) -> None:
        await self.service.start()
        # Presses on any Now Playing, also one posted before a restart, reach the current player.
        self._persistent = Controls(self.service.press)
        self.instance.bot.add_view(self._persistent)

    async def cog_unload(self) -> None:
        if self._persistent is not None:
            self._persistent.stop()
        await self.service.shutdown()

    async def cog_check(self, context: commands.Context) -> bool:  # type: ignore[override]
        if context.guild is None or not isinstance(context.author, discord.Member):
            raise commands.NoPrivateMessage()
        try:
            self.service.rate_limit(context.author.id)
        except UserError as error:
            raise commands.CheckFailure(str(error)) from None
        if context.command is not None and context.command.name in DJ_COMMANDS:
            refusal = await self.service.dj_refusal(context.author)
            if refusal:
                raise commands.CheckFailure(refusal)
        return True

    @staticmethod
    def _member(context: commands.Context) -> discord.Member:
        assert isinstance(context.author, discord.Member)
        return context.author

    @staticmethod
    def _guild(context: commands.Context) -> discord.Guild:
        assert context.guild is not None
        return context.guild

    async def _send(self, context: commands.Context, reply: Reply) -> None:
        player = self.service.players.get(self._guild(context).id)
        send = functools.partial(context.reply, mention_author=False)
        if reply.now_playing and player is not None and player.current is not None:
            player.channel = context.channel
            await player.post_now_playing(send, reply.embed)
            return
        await send(reply.text, embed=reply.embed)
        if reply.then_now_playing and player is not None:
            player.channel = context.channel
            await player.post_now_playing()

    # -- commands ----------------------------------------------------------------------------------
    @commands.command(name="play", aliases=["p"], brief="play a song (a name or a URL) in your voice channel",
                      usage="<song or URL>")
    async def play(self, context: commands.Context, *, query: str) -> None:
        async with context.typing():
            reply = await actions.play(self.service, self._member(context), context.channel, query)
        await self._send(context, reply)

    @commands.command(name="playlist", aliases=["pl"], brief="queue a playlist (up to 100 songs)", usage="<URL>")
    async def playlist(self, context: commands.Context, *, url: str) -> None:
        async with context.typing():
            reply = await actions.playlist(self.service, self._member(context), context.channel, url)
        await self._send(context, reply)

    @commands.command(name="skip", aliases=["s"], brief="skip the current song")
    async def skip(self, context: commands.Context) -> None:
        await self._send(context, await actions.skip(self.service, self._guild(context)))

    @commands.command(name="stop", brief="stop, clear the queue and leave voice")
    async def stop(self, context: commands.Context) -> None:
        await self._send(context, await actions.stop(self.service, self._guild(context)))

    @commands.command(name="pause", brief="pause the music")
    async def pause(self, context: commands.Context) -> None:
        await self._send(context, await actions.pause(self.service, self._guild(context)))

    @commands.command(name="resume", aliases=["r"], brief="resume the music")
    async def resume(self, context: commands.Context) -> None:
        await self._send(context, await actions.resume(self.service, self._guild(context)))

    @commands.command(name="queue", aliases=["q"], brief="the queue: the next 15 and the total length")
    async def queue(self, context: commands.Context) -> None:
        await self._send(context, actions.queue(self.service, self._guild(context)))

    @commands.command(name="nowplaying", aliases=["np"], brief="what is playing, with the player buttons")
    async def nowplaying(self, context: commands.Context) -> None:
        await self._send(context, actions.now_playing(self.service, self._guild(context)))

    @commands.command(name="remove", brief="remove a song from the queue", usage="<position>")
    async def remove(self, context: commands.Context, position: int) -> None:
        await self._send(context, actions.remove(self.service, self._guild(context), position))

    @commands.command(name="loop", aliases=["l"], brief="loop off, track or queue (no argument: the next mode)",
                      usage="[off|track|queue]")
    async def loop(self, context: commands.Context, mode: str | None = None) -> None:
        await self._send(context, await actions.set_loop(self.service, self._guild(context), mode))

    @commands.command(name="shuffle", brief="shuffle the queue")
    async def shuffle(self, context: commands.Context) -> None:
        await self._send(context, actions.shuffle(self.service, self._guild(context)))

    # -- voice events ------------------------------------------------------------------------------
    @commands.Cog.listener()
    async def on_voice_state_update(self, member: discord.Member, before: discord.VoiceState,
                                    after: discord.VoiceState) -> None:
        player = self.service.players.get(member.guild.id)
        if player is None:
            return
        me = member.guild.me
        if me is not None and member.id == me.id:
            if after.channel is None:
                async with player.lock:  # disconnected by someone else: no reconnect attempts, the queue goes
                    await player.leave("disconnected")
            elif after.channel is not None and not _humans_in(after.channel):
                async with player.lock:  # dragged into a channel nobody listens in
                    await player.leave("alone")
            return
        channel = player.voice_channel
        if channel is None or before.channel is None or before.channel.id != channel.id:
            return
        if not _humans_in(channel):
            async with player.lock:
                await player.leave("alone")


def _humans_in(channel: object) -> bool:
    return any(not m.bot for m in getattr(channel, "members", ()))
