"""One instance's music: its guild players, its resolver, the DJ-mode and rate-limit checks, button presses."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import discord
from supervisor.sdk import FeatureContext, InstanceFileError, UserError

from . import embeds
from .encoder import Encoder
from .player import GuildPlayer
from .resolve import POOL_THREADS, Resolver

RATE_LIMIT = (15, 30.0)  # per member, commands and buttons together
DJ_REFUSAL = "DJ mode is enabled. You need the DJ role to use music commands."
DJ_REFUSAL_BUTTONS = "DJ mode is enabled. You need the DJ role to use music controls."
NOT_IN_MY_CHANNEL = "You need to be in my voice channel to use the music controls."
NOTHING_PLAYING = "Nothing is playing right now."
STOPPED = "Stopped playback, cleared queue, and left voice."
COOKIES_FILE = "cookies.txt"
SEARCH_OPTION = "music_search_url"  # a supervisor-wide upstream: the sandbox's track server
COOKIES_MAX_BYTES = 1024 * 1024


def _pool() -> ThreadPoolExecutor:
    # One pool for every instance: yt-dlp resolves and PyAV opens block on the network; the loop's default
    # executor must never be starved by a hung resolve.
    return ThreadPoolExecutor(max_workers=POOL_THREADS, thread_name_prefix="music")


class MusicService:
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx
        self.players: dict[int, GuildPlayer] = {}
        self.resolver: Resolver = None  # type: ignore[assignment]  # set in start()
        self.encoder: Encoder | None = None

    async def start(self) -> None:
        pool = await self.ctx.shared("music.pool", _pool)
        self.encoder = await self.ctx.shared("music.encoder", Encoder)
        self.resolver = Resolver(pool, lambda: float(self.ctx.settings["resolve_timeout"]), self._cookies,
                                 self.ctx.supervisor_setting(SEARCH_OPTION))

    async def _cookies(self) -> str | None:
        try:
            return await self.ctx.read_text(COOKIES_FILE, max_bytes=COOKIES_MAX_BYTES)
        except InstanceFileError as error:
            if "file not found" not in str(error):
                self.ctx.warn("cookies", f"{error}; songs resolve without cookies")
            return None

    def player(self, guild: discord.Guild) -> GuildPlayer:
        found = self.players.get(guild.id)
        if found is None:
            found = self.players[guild.id] = GuildPlayer(self, guild)
        return found

    def forget(self, player: GuildPlayer) -> None:
        if self.players.get(player.guild.id) is player:
            del self.players[player.guild.id]

    async def shutdown(self) -> None:
        for player in list(self.players.values()):
            await player.leave("shutdown")

    # -- checks ------------------------------------------------------------------------------------
    def rate_limit(self, member_id: int) -> None:
        wait = self.ctx.limiter("music", *RATE_LIMIT).try_acquire(member_id)
        if wait is not None:
            raise UserError(f"Slow down — try again in {math.ceil(wait)}s.")

    async def dj_refusal(self, member: discord.abc.User, text: str = DJ_REFUSAL) -> str | None:
        """The refusal when DJ mode is on and `member` has neither the DJ role nor Administrator."""
        if not isinstance(member, discord.Member) or member.guild_permissions.administrator:
            return None
        row = await self.ctx.pool.fetchrow(
            "SELECT dj_role_id, dj_mode_enabled FROM guild_settings WHERE guild_id = $1", str(member.guild.id))
        if row is None or not row["dj_mode_enabled"]:
            return None
        role = row["dj_role_id"]
        if role and role.isdigit() and member.get_role(int(role)) is not None:
            return None
        return text

    # -- buttons -----------------------------------------------------------------------------------
    async def press(self, interaction: discord.Interaction, custom_id: str) -> None:
        from .actions import button_action  # the actions module imports this one

        member, guild = interaction.user, interaction.guild
        if guild is None or not isinstance(member, discord.Member):
            await interaction.response.send_message("This only works in a server.", ephemeral=True)
            return
        try:
            self.rate_limit(member.id)
        except UserError as error:
            await interaction.response.send_message(str(error), ephemeral=True)
            return
        player = self.players.get(guild.id)
        if custom_id == "music_queue":
            queue = list(player.queue) if player else []
            await interaction.response.send_message(
                embed=embeds.queue_view(player.current if player else None, queue), ephemeral=True)
            return
        mine = player.voice_channel if player else None
        if mine is None or member.voice is None or member.voice.channel is None or member.voice.channel.id != mine.id:
            await interaction.response.send_message(NOT_IN_MY_CHANNEL if mine else NOTHING_PLAYING, ephemeral=True)
            return
        refusal = await self.dj_refusal(member, DJ_REFUSAL_BUTTONS)
        if refusal:
            await interaction.response.send_message(refusal, ephemeral=True)
            return
        assert player is not None
        await button_action(self, player, interaction, custom_id)
