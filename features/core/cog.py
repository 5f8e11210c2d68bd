"""help, ping and about, written with this instance's own prefix, root and bot name."""

from __future__ import annotations

import math
import time

import discord
from discord.ext import commands
from supervisor.sdk import BLURPLE, FIELD_VALUE_LIMIT, VERSION, FeatureContext, fit_lines, format_duration


class CoreCog(commands.Cog, name="Core"):
    def __init__(self, ctx: FeatureContext):
        self.ctx = ctx

    @commands.command(name="help", aliases=["h"], brief="this list")
    async def help_command(self, context: commands.Context) -> None:
        config = self.ctx.config
        start = config.command_start()
        embed = discord.Embed(title=f"{config.bot_name} Commands", colour=BLURPLE)
        for cog in context.bot.cogs.values():
            lines = []
            for command in sorted(cog.get_commands(), key=lambda c: c.name):
                if command.hidden:
                    continue
                signature = f" {command.signature}" if command.signature else ""
                brief = f" — {command.brief}" if command.brief else ""
                lines.append(f"`{start}{command.name}{signature}`{brief}")
            if lines:
                value = fit_lines(lines, FIELD_VALUE_LIMIT)
                embed.add_field(name=cog.qualified_name, value=value, inline=False)
        embed.set_footer(text=f"{config.bot_name} · instance {self.ctx.name}")
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
