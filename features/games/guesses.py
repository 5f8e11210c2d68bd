"""Wordle guesses: any member's message of exactly five letters in a channel with a game running.

A word not in the list gets "Not a valid word.", deleted 2 seconds later (the member's message stays, as in the
original's code). A valid guess is deleted and the board edited in place; a win or a sixth guess ends the game.
"""

from __future__ import annotations

import contextlib

import discord
from supervisor.sdk import FeatureContext

from . import wordle_embeds
from .play import Games
from .wordle import WordleGame

NOT_A_WORD = "Not a valid word."
NOT_A_WORD_SECONDS = 2.0


def as_guess(content: str) -> str | None:
    word = content.strip().lower()
    return word if len(word) == 5 and word.isascii() and word.isalpha() else None


async def take_guess(ctx: FeatureContext, games: Games[WordleGame], words: frozenset[str],
                     message: discord.Message, word: str) -> None:
    game = games.live(message.channel.id)
    if game is None or game.over:
        return
    if word not in words and word != game.solution:  # the day's answer always counts, listed or not
        reply = await message.reply(NOT_A_WORD, mention_author=False)
        ctx.spawn("not_a_word_delete", lambda: _delete_later(games, reply))
        return
    game.guess(word)
    games.touch(game)
    if game.over:
        games.end(game.channel_id)
        ctx.log.info("wordle_finished", channel_id=game.channel_id, won=game.won, guesses=len(game.guesses))
    with contextlib.suppress(discord.NotFound, discord.Forbidden):
        await message.delete()
    embed = wordle_embeds.finished(game) if game.over else wordle_embeds.board(game)
    try:
        await message.channel.get_partial_message(game.message_id).edit(embed=embed)  # type: ignore[union-attr]
    except discord.NotFound:  # the board was deleted: the game goes with it
        games.end(game.channel_id)


async def _delete_later(games: Games[WordleGame], reply: discord.Message) -> None:
    await games.clock.sleep(NOT_A_WORD_SECONDS)
    with contextlib.suppress(discord.NotFound, discord.Forbidden, discord.HTTPException):
        await reply.delete()
