"""help, ping and about, written with this instance's own prefix, root and bot name."""

from __future__ import annotations

import math
import time

import discord
from discord.ext import commands
from supervisor.sdk import BLURPLE, VERSION, FeatureContext, format_duration

from .help import help_embed


class CoreCog(commands.Cog, name="Core"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx

    @commands.command(name="help", aliases=["h"], brief="this list")
    async def help_command(self, context: commands.Context) -> None:
        config = self.ctx.config
        embed = await help_embed(context, config.bot_name, config.command_start())
        await context.reply(embed=embed, mention_author=False)

    @commands.command(name="ping", brief="check that I answer, with the gateway latency")
    async def ping(self, context: commands.Context) -> None:
        latency = context.bot.latency
        shown = "unknown" if math.isnan(latency) or math.isinf(latency) else f"{latency * 1000:.0f} ms"
        await context.reply(f"Pong! Gateway latency: {shown}.", mention_author=False)

    @commands.command(name="about", brief="who I am and how long I have been up")
    async def about(self, context: commands.Context) -> None:
        config = self.ctx.config
        embed = discord.Embed(title=config.bot_name, colour=BLURPLE)
        embed.add_field(name="Instance", value=self.ctx.name)
        embed.add_field(name="Version", value=f"discord-supervisor {VERSION}")
        embed.add_field(name="Uptime", value=format_duration(time.time() - self.ctx.started_at))
        embed.add_field(name="Servers", value=str(len(context.bot.guilds)))
        await context.reply(embed=embed, mention_author=False)
