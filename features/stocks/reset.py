"""`stock reset`: a Confirm/Cancel button only the requester may press, gone after one press or 30 s."""

from __future__ import annotations

import contextlib

import discord
from discord.ext import commands
from supervisor.sdk import GOLD, GREEN, RED, FeatureContext

from . import queries
from .money import STARTING_CASH, dollars

CONFIRM_SECONDS = 30.0
DONE = f"Portfolio reset to **{dollars(STARTING_CASH)}**. All holdings and history cleared."


class ResetView(discord.ui.View):
    def __init__(self, ctx: FeatureContext, guild_id: int, requester_id: int):
        super().__init__(timeout=CONFIRM_SECONDS)
        self.ctx = ctx
        self.guild_id = guild_id
        self.requester_id = requester_id
        self.message: discord.Message | None = None
        self.pressed = False

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        if interaction.user.id != self.requester_id:
            await interaction.response.send_message("Only the member who asked for the reset can answer it.",
                                                    ephemeral=True)
            return False
        if self.pressed:  # a second press racing the first
            await interaction.response.send_message("This reset was already answered.", ephemeral=True)
            return False
        self.pressed = True
        self.stop()
        return True

    @discord.ui.button(label="Confirm", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await queries.reset(self.ctx.pool, self.guild_id, self.requester_id)
        embed = discord.Embed(title="Portfolio Reset", description=DONE, colour=GREEN)
        await interaction.response.edit_message(embed=embed, view=None)

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        embed = discord.Embed(title="Reset Cancelled", description="Your portfolio is unchanged.", colour=RED)
        await interaction.response.edit_message(embed=embed, view=None)

    async def on_timeout(self) -> None:
        if self.message is not None and not self.pressed:
            embed = discord.Embed(title="Reset Expired", description="No answer in 30 s; your portfolio is unchanged.")
            with contextlib.suppress(discord.HTTPException):
                await self.message.edit(embed=embed, view=None)


async def ask_reset(ctx: FeatureContext, context: commands.Context) -> None:
    assert context.guild is not None
    view = ResetView(ctx, context.guild.id, context.author.id)
    embed = discord.Embed(
        title="Reset Portfolio?", colour=GOLD,
        description=f"This sells nothing: it deletes all your holdings and trade history and sets your cash back to "
                    f"**{dollars(STARTING_CASH)}**. Only you can answer; the buttons expire in 30 s.")
    view.message = await context.reply(embed=embed, view=view, mention_author=False)
