"""`wordle` (`w`) and `connections` (`conn`): today's puzzle, `random`, or `date YYYY-MM-DD`, as the original."""

from __future__ import annotations

import datetime as dt
from typing import Any

import discord
from discord.ext import commands
from supervisor.sdk import FeatureContext, Periodic, UserError

from . import buttons, dates, nyt
from .clock import Clock, TimeSource
from .guesses import as_guess, take_guess
from .play import Starter
from .tools import GameTools
from .words import word_list

SWEEP_SECONDS = 300.0  # expiry is checked at each move, as the original; this only frees abandoned games


class GamesCog(commands.Cog, name="Games"):
    def __init__(self, ctx: FeatureContext):
        self.instance = ctx
        self.clock: TimeSource = Clock()
        self.starter = Starter(ctx, self.clock)
        ctx.provide("games.tools", GameTools(self.starter))
        self._sweep: Periodic | None = None

    async def cog_load(self) -> None:
        self._sweep = self.instance.every("forget_expired", SWEEP_SECONDS, self._forget_expired)

    async def cog_unload(self) -> None:
        if self._sweep is not None:
            self._sweep.cancel()

    async def _forget_expired(self) -> None:
        dropped = self.starter.wordle.forget_expired() + self.starter.connections.forget_expired()
        if dropped:
            self.instance.log.info("games_expired", count=dropped)

    def set_clock(self, clock: TimeSource) -> None:
        """Tests move time by hand: idle expiry and the "Not a valid word." deletion read this clock."""
        self.clock = self.starter.wordle.clock = self.starter.connections.clock = clock

    async def cog_check(self, context: commands.Context) -> bool:
        if context.guild is None:
            raise commands.NoPrivateMessage()
        return True

    def _usage(self, game: str) -> str:
        start = self.instance.command_start()
        return f"Try `{start}{game}`, `{start}{game} random` or `{start}{game} date YYYY-MM-DD`."

    # -- Wordle --------------------------------------------------------------------------------------
    @commands.group(name="wordle", aliases=["w"], invoke_without_command=True, brief="Play today's Wordle")
    async def wordle(self, context: commands.Context, *, rest: str | None = None) -> None:
        if rest:
            raise UserError(f"Unknown wordle command. {self._usage('wordle')}")
        await self._start_wordle(context, dates.today())

    @wordle.command(name="random", aliases=["rand", "r"], brief="Random Wordle")  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
    async def wordle_random(self, context: commands.Context) -> None:
        await self._start_wordle(context, dates.random_date(dates.WORDLE_FIRST))

    @wordle.command(name="date", aliases=["d"], brief="a given day's Wordle", usage="<YYYY-MM-DD>")  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
    async def wordle_date(self, context: commands.Context, *, date: str) -> None:
        parsed = dates.parse(date, dates.WORDLE_FIRST)
        if parsed is None:
            raise UserError(nyt.wordle_not_found(_shown(date)))
        await self._start_wordle(context, parsed)

    async def _start_wordle(self, context: commands.Context, date: dt.date) -> None:
        await self.starter.start_wordle(context.channel, context.channel.id, date, reply_to=context.message)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or message.guild is None:
            return
        word = as_guess(message.content)
        if word is None or self.starter.wordle.get(message.channel.id) is None:
            return
        words = await word_list(self.instance)
        async with self.starter.locks.hold(("wordle_guess", message.channel.id)):  # one guess at a time per board
            await take_guess(self.instance, self.starter.wordle, words, message, word)

    # -- Connections ---------------------------------------------------------------------------------
    @commands.group(name="connections", aliases=["conn"], invoke_without_command=True,
                    brief="Play today's NYT Connections")
    async def connections(self, context: commands.Context, *, rest: str | None = None) -> None:
        if rest:
            raise UserError(f"Unknown connections command. {self._usage('connections')}")
        await self._start_connections(context, dates.today())

    @connections.command(name="random", aliases=["rand", "r"], brief="Random puzzle")  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
    async def connections_random(self, context: commands.Context) -> None:
        await self._start_connections(context, dates.random_date(dates.CONNECTIONS_FIRST))

    @connections.command(name="date", aliases=["d"], brief="a given day's puzzle", usage="<YYYY-MM-DD>")  # type: ignore[arg-type]  # discord.py's Group.command typing (Never)
    async def connections_date(self, context: commands.Context, *, date: str) -> None:
        parsed = dates.parse(date, dates.CONNECTIONS_FIRST)
        if parsed is None:
            raise UserError(nyt.connections_not_found(_shown(date)))
        await self._start_connections(context, parsed)

    async def _start_connections(self, context: commands.Context, date: dt.date) -> None:
        await self.starter.start_connections(context.channel, context.channel.id, date, reply_to=context.message)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is not discord.InteractionType.component or interaction.guild_id is None:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        custom_id = str(data.get("custom_id", ""))
        if not buttons.is_game_button(custom_id):
            return
        # Not the start lock: a press must be answered within 3 s, never behind a puzzle fetch.
        async with self.starter.locks.hold(("connections_press", interaction.channel_id)):
            await buttons.press(self.instance, self.starter.connections, interaction, custom_id)


def _shown(text: str) -> str:
    """A member's date as echoed back: short, and unable to break the bold around it."""
    return discord.utils.escape_markdown(text.strip()[:30]) or "?"
