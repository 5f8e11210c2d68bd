"""Starting games and keeping them: one Wordle and one Connections game per channel, each dropped when it ends or
after `idle_expiry` seconds without a move (checked lazily, as the original).

Shared by the prefix commands and the AI tools, so both refuse a second game the same way.
"""

from __future__ import annotations

import datetime as dt
from typing import Generic, TypeVar

import discord
from supervisor.sdk import FeatureContext, KeyedLocks, UserError

from . import connections_embeds, nyt, wordle_embeds
from .clock import TimeSource
from .connections import ConnectionsGame
from .wordle import WordleGame

G = TypeVar("G", WordleGame, ConnectionsGame)

WORDLE_ACTIVE = "A wordle game is already active in this channel. Finish or wait for it to expire."
CONNECTIONS_ACTIVE = "A connections game is already active in this channel. Finish or wait for it to expire."


class Games(Generic[G]):
    """The games of one kind for one instance, by channel id."""

    def __init__(self, ctx: FeatureContext, clock: TimeSource):
        self._ctx = ctx
        self.clock = clock
        self._games: dict[int, G] = {}

    def _expiry(self) -> float:
        return float(self._ctx.settings.get("idle_expiry", 1800.0))

    def live(self, channel_id: int) -> G | None:
        """The channel's game, unless it sat idle too long (then it is forgotten)."""
        game = self._games.get(channel_id)
        if game is not None and self.expired(game):
            self.end(channel_id)
            return None
        return game

    def expired(self, game: G) -> bool:
        return self.clock.now() - game.last_action > self._expiry()

    def get(self, channel_id: int) -> G | None:
        return self._games.get(channel_id)

    def keep(self, game: G) -> None:
        game.last_action = self.clock.now()
        self._games[game.channel_id] = game

    def touch(self, game: G) -> None:
        game.last_action = self.clock.now()

    def end(self, channel_id: int) -> None:
        self._games.pop(channel_id, None)

    def forget_expired(self) -> int:
        """Drop every game idle too long (a channel nobody returns to would otherwise keep its game forever)."""
        stale = [channel_id for channel_id, game in self._games.items() if self.expired(game)]
        for channel_id in stale:
            self.end(channel_id)
        return len(stale)

    def __len__(self) -> int:
        return len(self._games)


class Starter:
    """Fetches a puzzle, posts its board, and keeps the game, unless the channel already has one running."""

    def __init__(self, ctx: FeatureContext, clock: TimeSource):
        self.ctx = ctx
        self.wordle: Games[WordleGame] = Games(ctx, clock)
        self.connections: Games[ConnectionsGame] = Games(ctx, clock)
        self.locks = KeyedLocks()  # one start at a time per channel and game: a second waits, then is refused

    async def start_wordle(self, channel: discord.abc.Messageable, channel_id: int, date: dt.date,
                           reply_to: discord.Message | None = None) -> WordleGame:
        async with self.locks.hold(("wordle", channel_id)):
            if self.wordle.live(channel_id) is not None:
                raise UserError(WORDLE_ACTIVE)
            try:
                puzzle = await nyt.fetch_wordle(self.ctx, date)
            except nyt.PuzzleError as error:
                raise UserError(str(error)) from None
            game = WordleGame(puzzle.solution, puzzle.date, channel_id)
            message = await _post(channel, reply_to, embed=wordle_embeds.board(game))
            game.message_id = message.id
            self.wordle.keep(game)
            self.ctx.log.info("wordle_started", channel_id=channel_id, date=puzzle.date)
            return game

    async def start_connections(self, channel: discord.abc.Messageable, channel_id: int, date: dt.date,
                                reply_to: discord.Message | None = None) -> ConnectionsGame:
        async with self.locks.hold(("connections", channel_id)):
            if self.connections.live(channel_id) is not None:
                raise UserError(CONNECTIONS_ACTIVE)
            try:
                puzzle = await nyt.fetch_connections(self.ctx, date)
            except nyt.PuzzleError as error:
                raise UserError(str(error)) from None
            game = ConnectionsGame(puzzle, channel_id)
            # Kept before the board is posted: a press may reach the bot before the post's own answer does.
            self.connections.keep(game)
            try:
                message = await _post(channel, reply_to, embed=connections_embeds.board(game),
                                      view=connections_embeds.buttons(game))
            except BaseException:
                self.connections.end(channel_id)
                raise
            game.message_id = message.id
            self.ctx.log.info("connections_started", channel_id=channel_id, date=puzzle.date)
            return game


async def _post(channel: discord.abc.Messageable, reply_to: discord.Message | None, embed: discord.Embed,
                view: discord.ui.View | None = None) -> discord.Message:
    """A reply to the command that started the game; a plain message when the AI started it."""
    if reply_to is not None:
        if view is None:
            return await reply_to.reply(embed=embed, mention_author=False)
        return await reply_to.reply(embed=embed, view=view, mention_author=False)
    if view is None:
        return await channel.send(embed=embed)
    return await channel.send(embed=embed, view=view)
