"""`stock reset`: Confirm/Cancel buttons only the requester may press, gone after one press or 30 s."""

from __future__ import annotations

import contextlib

import discord
from discord.ext import commands
from supervisor.sdk import GOLD, GREEN, RED, Confirm

from .game import StockGame
from .money import STARTING_CASH, dollars

CONFIRM_SECONDS = 30.0
DONE = f"Portfolio reset to **{dollars(STARTING_CASH)}**. All holdings and history cleared."
REFUSAL = "Only the member who asked for this reset can answer it."


async def ask_reset(game: StockGame, context: commands.Context) -> None:
    assert context.guild is not None
    view = Confirm(allowed=[context.author.id], timeout=CONFIRM_SECONDS, confirm_label="Reset", refusal=REFUSAL)
    question = discord.Embed(
        title="Reset Portfolio?", colour=GOLD,
        description=f"This deletes all your holdings and trade history and sets your cash back to "
                    f"**{dollars(STARTING_CASH)}**. Only you can answer; the buttons expire in 30 s.")
    view.message = await context.reply(embed=question, view=view, mention_author=False)
    outcome = await view.result()
    if outcome == "confirmed":
        await game.reset(context.guild.id, context.author.id)
        answer = discord.Embed(title="Portfolio Reset", description=DONE, colour=GREEN)
    elif outcome == "cancelled":
        answer = discord.Embed(title="Reset Cancelled", description="Your portfolio is unchanged.", colour=RED)
    else:
        answer = discord.Embed(title="Reset Expired", description="No answer in 30 s; your portfolio is unchanged.")
    with contextlib.suppress(discord.HTTPException):  # the question was deleted meanwhile: nothing left to update
        await view.message.edit(embed=answer, view=None)
